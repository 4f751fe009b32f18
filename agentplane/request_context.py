"""Per-call context: who is calling, trace and request ids, and the call's deadline.

Layer: shared core, domain level (no grpc). The server interceptor sets it for every
incoming call; logging reads the ids from it, and the client factory reads the
deadline from it so that outgoing calls never outlive the incoming one (deadline
propagation) and carry the same trace id.
"""

from __future__ import annotations

import contextvars
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

__all__ = [
    "Principal",
    "RequestContext",
    "current",
    "deadline_scope",
    "new_id",
    "remaining_s",
    "use",
]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the key's name, its tenant and its roles."""

    name: str
    tenant: str
    roles: frozenset[str] = frozenset()

    def has_role(self, role: str) -> bool:
        """Whether the principal holds `role` (or `admin`, which holds every role)."""
        return role in self.roles or "admin" in self.roles


@dataclass(frozen=True)
class RequestContext:
    """What is known about the call being served."""

    request_id: str = ""
    trace_id: str = ""
    principal: Principal | None = None
    # Absolute time.monotonic() deadline; None = no deadline.
    deadline: float | None = None
    method: str = ""

    @property
    def tenant(self) -> str:
        """The caller's tenant, or "" when unauthenticated."""
        return self.principal.tenant if self.principal else ""


_CURRENT: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "agentplane_request_context",
    default=RequestContext(),  # noqa: B039 - frozen dataclass, never mutated
)


# Ids need to be unique, not secret: a PRNG seeded once from the OS is enough, and saves
# a getrandom() system call per request on the hot path.
_IDS = random.Random(secrets.randbits(128))


def new_id() -> str:
    """A fresh 128-bit hex id for requests and traces."""
    return f"{_IDS.getrandbits(128):032x}"


def current() -> RequestContext:
    """The context of the call being served (an empty one outside calls)."""
    return _CURRENT.get()


@contextmanager
def use(ctx: RequestContext) -> Iterator[RequestContext]:
    """Make `ctx` current for the enclosed block."""
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


def remaining_s() -> float | None:
    """Seconds left before the current deadline, or None without one."""
    deadline = _CURRENT.get().deadline
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def deadline_scope(timeout_s: float) -> Iterator[RequestContext]:
    """Narrow the current deadline to at most `timeout_s` from now for the block."""
    ctx = _CURRENT.get()
    new_deadline = time.monotonic() + timeout_s
    if ctx.deadline is not None:
        new_deadline = min(new_deadline, ctx.deadline)
    with use(replace(ctx, deadline=new_deadline)) as narrowed:
        yield narrowed

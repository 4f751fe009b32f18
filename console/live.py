"""Live queue updates: the console polls the controller, browsers listen with server-sent events.

Layer: console domain. While at least one page of a tenant listens, one poller per
tenant reads the tenant's pending reviews from the controller every
`poll_interval_s` (with the key of a reviewer who is listening) and wakes every
listener of that tenant when the set of pending reviews changed. Polling the
controller's API (instead of an in-process event feed) sees reviews created or
resolved by every controller replica and every client, not only this console.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from agentplane.errors import AgentplaneError
from console.controller import ControllerClient

__all__ = ["QueueListener", "QueueSnapshot", "QueueWatch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSnapshot:
    """The pending reviews of a tenant at one moment."""

    review_ids: tuple[str, ...]

    @property
    def version(self) -> str:
        """Short digest that changes whenever the set changes."""
        return hashlib.sha256("\n".join(sorted(self.review_ids)).encode()).hexdigest()[:16]


@dataclass
class QueueListener:
    """One listening page."""

    api_key: str = field(repr=False)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    snapshot: QueueSnapshot | None = None

    async def next(self, timeout_s: float) -> QueueSnapshot | None:
        """The next changed snapshot, or None after `timeout_s` without a change."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self.changed.wait()
                self.changed.clear()
                return self.snapshot
        return None


@dataclass
class _Tenant:
    listeners: dict[int, QueueListener] = field(default_factory=dict)
    poller: asyncio.Task[None] | None = None
    last: QueueSnapshot | None = None


class QueueWatch:
    """Per-tenant pollers shared by the tenant's listening pages.

    Args:
        client: The controller client.
        interval_s: Time between two reads of a tenant's queue.
        limit: Pending reviews read per poll.
    """

    def __init__(self, client: ControllerClient, interval_s: float, limit: int) -> None:
        self._client = client
        self._interval_s = interval_s
        self._limit = limit
        self._tenants: dict[str, _Tenant] = {}
        self._ids = itertools.count()
        self.closed = False

    @contextlib.asynccontextmanager
    async def listen(self, tenant: str, api_key: str) -> AsyncIterator[QueueListener]:
        """Listen to `tenant`'s queue (polling starts with the first listener, stops after the last)."""
        state = self._tenants.setdefault(tenant, _Tenant())
        listener = QueueListener(api_key)
        lid = next(self._ids)
        state.listeners[lid] = listener
        if state.last is not None:
            listener.snapshot = state.last
            listener.changed.set()
        if state.poller is None or state.poller.done():
            state.poller = asyncio.create_task(self._poll(tenant, state), name=f"console-queue-{tenant}")
        try:
            yield listener
        finally:
            del state.listeners[lid]
            if not state.listeners:
                poller, state.poller = state.poller, None
                self._tenants.pop(tenant, None)
                if poller is not None:
                    poller.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await poller

    async def _poll(self, tenant: str, state: _Tenant) -> None:
        while state.listeners:
            key = next(reversed(state.listeners.values())).api_key
            try:
                reviews = await self._client.pending_reviews(key, self._limit)
            except AgentplaneError as exc:
                log.warning("queue poll of tenant %s failed: %s", tenant, exc.message)
            else:
                snapshot = QueueSnapshot(tuple(r.review_id for r in reviews))
                if state.last is None or snapshot.version != state.last.version:
                    state.last = snapshot
                    for listener in state.listeners.values():
                        listener.snapshot = snapshot
                        listener.changed.set()
            await asyncio.sleep(self._interval_s)  # the polling period itself, not synchronisation

    async def aclose(self) -> None:
        """Stop every poller and wake every listener (their streams end)."""
        self.closed = True
        for state in list(self._tenants.values()):
            for listener in state.listeners.values():
                listener.changed.set()
            if state.poller is not None:
                state.poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await state.poller
        self._tenants.clear()

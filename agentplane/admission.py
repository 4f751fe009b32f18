"""Caller admission, the same for every transport: API key → principal → tenant limits → errors.

Layer: shared core, domain level (no gRPC, HTTP or MCP). Each front hands `Admission.admit`
the request's headers — gRPC metadata (lower-case keys) or an HTTP header mapping
(case-insensitive) — and gets back the call's `RequestContext` and its tenant permit, or a
typed `AgentplaneError` (UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED) that the
front turns into its wire status in its one place. `error_of` is the other half of the
error mapping: any exception a handler lets escape becomes the `InternalError` that
quotes the request id (and is logged once), typed errors pass through.

The fronts: the gRPC interceptor (`agentplane.rpc.interceptors`), the gateway's
OpenAI-compatible HTTP front, and the MCP streamable-HTTP middleware (which admits
without tenant limits: its tools call a gRPC service that applies them).

Keys are looked up through `KeyStore`, a one-method interface, so other key sources
(virtual keys with expiry, revocation and budgets) plug in behind it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from agentplane import request_context
from agentplane.auth import ApiKeyStore
from agentplane.errors import AgentplaneError, InternalError
from agentplane.limits import TenantLimiter, TenantPermit
from agentplane.request_context import Principal, RequestContext
from agentplane.settings import ServiceSettings

__all__ = [
    "API_KEY_HEADER",
    "REQUEST_ID_HEADER",
    "TENANT_HEADER",
    "TRACE_ID_HEADER",
    "Admission",
    "Admitted",
    "KeyStore",
    "error_of",
    "presented_key",
]

API_KEY_HEADER = "x-api-key"
TENANT_HEADER = "x-agentplane-tenant"
TRACE_ID_HEADER = "x-trace-id"
REQUEST_ID_HEADER = "x-request-id"

log = logging.getLogger("agentplane.admission")


class KeyStore(Protocol):
    """Where presented keys are looked up."""

    def authenticate(self, raw_key: str | None, act_for_tenant: str | None = None) -> Principal:
        """The principal of a presented key (acting for `act_for_tenant` when allowed).

        Raises:
            UnauthenticatedError: The key is missing or not valid.
            PermissionDeniedError: The key may not act for `act_for_tenant`.
        """
        ...


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request presents: `Authorization: Bearer <key>`, else `x-api-key`."""
    authorization = headers.get("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get(API_KEY_HEADER) or None


def _trace_id(headers: Mapping[str, str]) -> str:
    trace = headers.get(TRACE_ID_HEADER)
    if trace:
        return trace
    parent = headers.get("traceparent") or ""  # W3C: version-traceid-spanid-flags
    parts = parent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else request_context.new_id()


@dataclass(frozen=True, slots=True)
class Admitted:
    """An admitted call: its context, and the tenant slot to give back when it ends."""

    context: RequestContext
    permit: TenantPermit | None = None

    def release(self) -> None:
        """Give the tenant's concurrency slot back (idempotent)."""
        if self.permit is not None:
            self.permit.release()


class Admission:
    """Admits callers: authenticates the key, builds the call's context, applies tenant limits.

    Args:
        keys: Where keys are looked up.
        limiter: Per-tenant rate and concurrency limits; None admits without limits.
    """

    def __init__(self, keys: KeyStore, limiter: TenantLimiter | None) -> None:
        self.keys = keys
        self.limiter = limiter

    @classmethod
    def from_settings(cls, settings: ServiceSettings, *, limits: bool = True) -> Admission:
        """Keys from `settings.auth` (and the data dir's key file), limits from `settings.limits`.

        Args:
            settings: The service's settings.
            limits: False for a front whose calls are limited further in (MCP over gRPC).
        """
        keys = ApiKeyStore.from_settings(settings.auth, settings.data_dir)
        return cls(keys, TenantLimiter(settings.limits) if limits else None)

    def admit(
        self, headers: Mapping[str, str], *, method: str, timeout_s: float | None, trace_id: str | None = None
    ) -> Admitted:
        """Admit one call or refuse it at once.

        Args:
            headers: The request's headers or gRPC metadata.
            method: What is called, e.g. "/agentplane.v1.LLMGateway/Complete" (logs, errors).
            timeout_s: Seconds left before the caller's deadline; None = no deadline.
            trace_id: The call's trace id when tracing is on (its span's); default: from the headers.

        Returns:
            The call's context and its tenant permit (release it when the call ends).

        Raises:
            UnauthenticatedError: The key is missing or not valid.
            PermissionDeniedError: The key may not act for the tenant it names.
            ResourceExhaustedError: The tenant is over its rate or concurrency limit.
        """
        principal = self.keys.authenticate(presented_key(headers), headers.get(TENANT_HEADER) or None)
        ctx = RequestContext(
            request_id=headers.get(REQUEST_ID_HEADER) or request_context.new_id(),
            trace_id=trace_id or _trace_id(headers),
            principal=principal,
            deadline=None if timeout_s is None else time.monotonic() + timeout_s,
            method=method,
        )
        permit = self.limiter.acquire(principal.tenant) if self.limiter is not None else None
        return Admitted(ctx, permit)


def error_of(exc: BaseException, ctx: RequestContext | None) -> AgentplaneError:
    """The typed error a front answers with: typed errors as they are, others as INTERNAL.

    An unexpected exception is logged here, once, with its traceback; the caller sees only
    the request id to quote.
    """
    if isinstance(exc, AgentplaneError):
        return exc
    rid = ctx.request_id if ctx else ""
    log.error("unhandled error in %s (request %s)", ctx.method if ctx else "?", rid, exc_info=exc)
    return InternalError(f"internal error; quote request id {rid} to the operator", reason="INTERNAL")

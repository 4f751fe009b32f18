"""The one server interceptor: call context, authentication, tenant limits, error mapping.

Layer: shared core, RPC boundary. Every service's server installs
`PolicyInterceptor`; servicers therefore only raise `AgentplaneError`s and never
abort calls themselves. Per call it:

1. builds the `RequestContext` (request and trace ids from metadata, the deadline);
2. authenticates `x-api-key` (UNAUTHENTICATED when missing or wrong);
3. admits the call under the tenant's rate and concurrency limits
   (RESOURCE_EXHAUSTED with RetryInfo and QuotaFailure, never a wait);
4. maps `AgentplaneError` to a rich status and any other exception to INTERNAL.

Health checks and reflection are exempt from 2 and 3 so that orchestrators and
tools can reach them without a key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from agentplane import request_context
from agentplane.auth import ApiKeyStore
from agentplane.errors import AgentplaneError, InternalError
from agentplane.limits import TenantLimiter, TenantPermit
from agentplane.request_context import RequestContext
from agentplane.rpc.status import to_grpc_status

__all__ = [
    "API_KEY_HEADER",
    "REQUEST_ID_HEADER",
    "TENANT_HEADER",
    "TRACE_ID_HEADER",
    "PolicyInterceptor",
]

API_KEY_HEADER = "x-api-key"
TENANT_HEADER = "x-agentplane-tenant"
TRACE_ID_HEADER = "x-trace-id"
REQUEST_ID_HEADER = "x-request-id"
_EXEMPT_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

log = logging.getLogger("agentplane.rpc")


def _trace_id(md: dict[str, str]) -> str:
    trace = md.get(TRACE_ID_HEADER)
    if trace:
        return trace
    parent = md.get("traceparent", "")  # W3C: version-traceid-spanid-flags
    parts = parent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else request_context.new_id()


class PolicyInterceptor(grpc.aio.ServerInterceptor):
    """Applies context, auth, limits and error mapping to every method.

    Args:
        keys: Key store used to authenticate callers.
        limiter: Per-tenant limiter.
    """

    def __init__(self, keys: ApiKeyStore, limiter: TenantLimiter) -> None:
        self._keys = keys
        self._limiter = limiter
        # Wrapped handlers by method: the servicer's handlers never change, so each is wrapped once.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = wrapped
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if method.startswith(_EXEMPT_PREFIXES):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client-streaming methods: none in the agentplane contracts

    def _admit(self, context: grpc.aio.ServicerContext, method: str) -> tuple[RequestContext, TenantPermit]:
        md = {m.key: m.value for m in context.invocation_metadata() or () if isinstance(m.value, str)}
        principal = self._keys.authenticate(md.get(API_KEY_HEADER), md.get(TENANT_HEADER))
        remaining = context.time_remaining()
        ctx = RequestContext(
            request_id=md.get(REQUEST_ID_HEADER) or request_context.new_id(),
            trace_id=_trace_id(md),
            principal=principal,
            deadline=None if remaining is None else time.monotonic() + remaining,
            method=method,
        )
        return ctx, self._limiter.acquire(principal.tenant)

    async def _fail(self, context: grpc.aio.ServicerContext, exc: BaseException, ctx: RequestContext | None) -> None:
        if isinstance(exc, AgentplaneError):
            err = exc
        else:
            rid = ctx.request_id if ctx else ""
            log.exception("unhandled error in %s (request %s)", ctx.method if ctx else "?", rid)
            err = InternalError(f"internal error; quote request id {rid} to the operator", reason="INTERNAL")
        status = to_grpc_status(err)
        await context.abort(status.code, status.details, status.trailing_metadata)

    def _wrap_unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Awaitable[Any]]:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            ctx: RequestContext | None = None
            try:
                ctx, permit = self._admit(context, method)
            except AgentplaneError as exc:
                await self._fail(context, exc, ctx)
            try:
                with request_context.use(ctx):  # type: ignore[arg-type]
                    return await behavior(request, context)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:
                await self._fail(context, exc, ctx)
            finally:
                permit.release()

        return unary

    def _wrap_stream(
        self, behavior: Callable[..., AsyncIterator[Any]], method: str
    ) -> Callable[..., AsyncIterator[Any]]:
        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            ctx: RequestContext | None = None
            try:
                ctx, permit = self._admit(context, method)
            except AgentplaneError as exc:
                await self._fail(context, exc, ctx)
            try:
                with request_context.use(ctx):  # type: ignore[arg-type]
                    async for item in behavior(request, context):
                        yield item
            except (asyncio.CancelledError, grpc.aio.AbortError, GeneratorExit):
                raise
            except Exception as exc:
                await self._fail(context, exc, ctx)
            finally:
                permit.release()

        return stream

"""The one server interceptor: caller admission and error mapping around every method.

Layer: shared core, RPC boundary. Every service's server installs
`PolicyInterceptor`; servicers therefore only raise `AgentplaneError`s and never
abort calls themselves. Per call it:

1. admits the caller through the transport-neutral `Admission` (agentplane.admission):
   request and trace ids, the deadline, the API key (UNAUTHENTICATED when missing or
   wrong) and the tenant's rate and concurrency limits (RESOURCE_EXHAUSTED with
   RetryInfo and QuotaFailure, never a wait);
2. maps `AgentplaneError` to a rich status and any other exception to INTERNAL.

Health checks and reflection are exempt from admission so that orchestrators and
tools can reach them without a key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc

from agentplane import request_context
from agentplane.admission import (
    API_KEY_HEADER,
    REQUEST_ID_HEADER,
    TENANT_HEADER,
    TRACE_ID_HEADER,
    Admission,
    Admitted,
    error_of,
)
from agentplane.errors import AgentplaneError
from agentplane.request_context import RequestContext
from agentplane.rpc.status import to_grpc_status

__all__ = [
    "API_KEY_HEADER",
    "REQUEST_ID_HEADER",
    "TENANT_HEADER",
    "TRACE_ID_HEADER",
    "PolicyInterceptor",
]

_EXEMPT_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class PolicyInterceptor(grpc.aio.ServerInterceptor):
    """Applies admission and error mapping to every method.

    Args:
        admission: Authenticates callers and applies tenant limits.
    """

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
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

    def _admit(self, context: grpc.aio.ServicerContext, method: str) -> Admitted:
        md = {m.key: m.value for m in context.invocation_metadata() or () if isinstance(m.value, str)}
        return self._admission.admit(md, method=method, timeout_s=context.time_remaining())

    @staticmethod
    async def _fail(context: grpc.aio.ServicerContext, exc: BaseException, ctx: RequestContext | None) -> NoReturn:
        status = to_grpc_status(error_of(exc, ctx))
        await context.abort(status.code, status.details, status.trailing_metadata)
        raise AssertionError("ServicerContext.abort always raises")  # its type stub says it returns

    def _wrap_unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Awaitable[Any]]:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                admitted = self._admit(context, method)
            except AgentplaneError as exc:
                await self._fail(context, exc, None)
            try:
                with request_context.use(admitted.context):
                    return await behavior(request, context)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:
                await self._fail(context, exc, admitted.context)
            finally:
                admitted.release()

        return unary

    def _wrap_stream(
        self, behavior: Callable[..., AsyncIterator[Any]], method: str
    ) -> Callable[..., AsyncIterator[Any]]:
        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                admitted = self._admit(context, method)
            except AgentplaneError as exc:
                await self._fail(context, exc, None)
            try:
                with request_context.use(admitted.context):
                    async for item in behavior(request, context):
                        yield item
            except (asyncio.CancelledError, grpc.aio.AbortError, GeneratorExit):
                raise
            except Exception as exc:
                await self._fail(context, exc, admitted.context)
            finally:
                admitted.release()

        return stream

"""The one server interceptor: caller admission and error mapping around every method.

Layer: shared core, RPC boundary. Every service's server installs
`PolicyInterceptor`; servicers therefore only raise `AgentplaneError`s and never
abort calls themselves. Per call it:

1. admits the caller through the transport-neutral `Admission` (agentplane.admission):
   request and trace ids, the deadline, the API key (UNAUTHENTICATED when missing or
   wrong) and the tenant's rate and concurrency limits (RESOURCE_EXHAUSTED with
   RetryInfo and QuotaFailure, never a wait);
2. maps `AgentplaneError` to a rich status and any other exception to INTERNAL;
3. records the method's RED metrics (calls by status code, latency, in flight) and
   counts refusals by reason: admission's, and RESOURCE_EXHAUSTED from the handler
   (load shedding such as a full task queue).

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
from agentplane.errors import AgentplaneError, Code
from agentplane.metrics import CallMetrics, RpcMetrics
from agentplane.request_context import RequestContext
from agentplane.rpc.status import to_grpc_status
from agentplane.tracing import current_trace_id

__all__ = [
    "API_KEY_HEADER",
    "REQUEST_ID_HEADER",
    "TENANT_HEADER",
    "TRACE_ID_HEADER",
    "PolicyInterceptor",
]

_EXEMPT_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class PolicyInterceptor(grpc.aio.ServerInterceptor):
    """Applies admission, error mapping and RED metrics to every method.

    Args:
        admission: Authenticates callers and applies tenant limits.
        metrics: Where each call is counted by method and status, timed, and refusals counted by
            reason (None: nothing recorded).
        traced: Tracing is on: the OpenTelemetry interceptor runs before this one, and the call's
            trace id (logs, audit records, outgoing calls) is its span's.
    """

    def __init__(self, admission: Admission, metrics: RpcMetrics | None = None, *, traced: bool = False) -> None:
        self._admission = admission
        self._metrics = metrics
        self._traced = traced
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
        trace_id = current_trace_id() if self._traced else None
        return self._admission.admit(md, method=method, timeout_s=context.time_remaining(), trace_id=trace_id)

    async def _admitted(self, context: grpc.aio.ServicerContext, method: str, call: _CallRecord) -> Admitted:
        """Admit the call, or count the refusal and abort with it."""
        try:
            return self._admit(context, method)
        except AgentplaneError as exc:
            call.code = exc.code.name
            if self._metrics is not None:
                self._metrics.refused("grpc", exc)
            await self._abort(context, exc)

    async def _failed(
        self, context: grpc.aio.ServicerContext, exc: BaseException, ctx: RequestContext, call: _CallRecord
    ) -> NoReturn:
        """Record how a handler ended abnormally; abort with its typed error, or re-raise what is not one."""
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            call.code = "CANCELLED"
            raise exc
        if isinstance(exc, grpc.aio.AbortError) or not isinstance(exc, Exception):
            call.code = "UNKNOWN"  # a servicer aborted on its own (they must raise instead)
            raise exc
        err = error_of(exc, ctx)
        call.code = err.code.name
        if err.code is Code.RESOURCE_EXHAUSTED and self._metrics is not None:
            self._metrics.refused("grpc", err)  # load shed by the handler (e.g. a full task queue)
        await self._abort(context, err)

    @staticmethod
    async def _abort(context: grpc.aio.ServicerContext, err: AgentplaneError) -> NoReturn:
        status = to_grpc_status(err)
        await context.abort(status.code, status.details, status.trailing_metadata)
        raise AssertionError("ServicerContext.abort always raises")  # its type stub says it returns

    def _wrap_unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Awaitable[Any]]:
        calls = self._metrics.grpc_method(method) if self._metrics is not None else None

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = _CallRecord(calls)
            try:
                admitted = await self._admitted(context, method, call)
                try:
                    with request_context.use(admitted.context):
                        return await behavior(request, context)
                except BaseException as exc:
                    await self._failed(context, exc, admitted.context, call)
                finally:
                    admitted.release()
            finally:
                call.finish()

        return unary

    def _wrap_stream(
        self, behavior: Callable[..., AsyncIterator[Any]], method: str
    ) -> Callable[..., AsyncIterator[Any]]:
        calls = self._metrics.grpc_method(method) if self._metrics is not None else None

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _CallRecord(calls)
            try:
                admitted = await self._admitted(context, method, call)
                try:
                    with request_context.use(admitted.context):
                        async for item in behavior(request, context):
                            yield item
                except BaseException as exc:
                    await self._failed(context, exc, admitted.context, call)
                finally:
                    admitted.release()
            finally:
                call.finish()

        return stream


class _CallRecord:
    """One call's RED record: started now, finished with the status code it ended with."""

    __slots__ = ("_calls", "_started", "code")

    def __init__(self, calls: CallMetrics | None) -> None:
        self._calls = calls
        self._started = calls.start() if calls is not None else 0.0
        self.code = "OK"

    def finish(self) -> None:
        if self._calls is not None:
            self._calls.finish(self._started, self.code)

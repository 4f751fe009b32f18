"""A stand-in OpenTelemetry collector: the real OTLP/gRPC trace service on 127.0.0.1, keeping what it receives.

Services configured with `[tracing] enabled = true` and `otlp_endpoint` pointing here
export to it exactly as to a production collector (same protobuf messages, same gRPC
method), so end-to-end tests can read the spans of processes they do not share memory
with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as exported: ids in hex, the exporting service's name."""

    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self, collector: OtlpCollector) -> None:
        self._collector = collector

    async def Export(  # noqa: N802 - the OTLP method name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            service = attrs.get("service.name", "")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self._collector.spans.append(
                        ReceivedSpan(
                            service,
                            span.name,
                            span.kind,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                        )
                    )
        async with self._collector.changed:
            self._collector.changed.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpCollector:
    """The collector: `start()` returns its endpoint URL; `spans` grows as exports arrive."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.changed = asyncio.Condition()
        self._server: grpc.aio.Server | None = None

    async def start(self) -> str:
        """Serve on a free loopback port; return "http://127.0.0.1:<port>"."""
        server = grpc.aio.server()
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server
        return f"http://127.0.0.1:{port}"

    async def wait_for(self, predicate: Callable[[list[ReceivedSpan]], bool], timeout_s: float) -> list[ReceivedSpan]:
        """Wait until `predicate(spans)` is true (bounded); return the spans then."""
        async with asyncio.timeout(timeout_s), self.changed:
            await self.changed.wait_for(lambda: predicate(self.spans))
        return list(self.spans)

    async def aclose(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.stop(None)
            self._server = None

"""Tracing: off means nothing installed; on, spans leave by OTLP to the configured collector."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentplane.rpc import unary
from agentplane.settings import TracingSettings
from agentplane.tracing import Tracing, current_trace_id, parent_from_trace_id
from agentplane.v1 import realtime_pb2, realtime_pb2_grpc
from realtime.config import RealtimeSettings
from realtime.server import build_server
from tests.support.otlp_collector import OtlpCollector, ReceivedSpan
from tests.support.servers import channel
from tests.support.settings import test_settings


def test_tracing_off_installs_nothing() -> None:
    off = Tracing.from_settings("gateway", TracingSettings())
    assert not off.enabled
    assert off.server_interceptors() == [] and off.client_interceptors() == [] and off.http_trace_configs() == []
    assert off.capture() is None and off.extract({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}) is None
    with off.span("work") as span:
        assert span is None and current_trace_id() is None


def test_a_resumed_task_continues_its_trace_under_a_remote_parent() -> None:
    tracing = Tracing(Tracing.provider_for("controller"))
    with tracing.span("controller.task", parent=parent_from_trace_id("ab" * 16)):
        assert current_trace_id() == "ab" * 16
    assert parent_from_trace_id("not-hex") is None and parent_from_trace_id("0" * 32) is None


@pytest.mark.parametrize("endpoint_given", [True, False])
async def test_spans_are_exported_by_otlp_only_to_a_configured_collector(tmp_path: Path, endpoint_given: bool) -> None:
    collector = OtlpCollector()
    endpoint = await collector.start()
    try:
        tracing = {"enabled": True, "otlp_endpoint": endpoint if endpoint_given else ""}
        host = build_server(test_settings(RealtimeSettings, "realtime", tmp_path, tracing=tracing))
        await host.start()
        try:
            async with channel(f"127.0.0.1:{host.port}") as chan:
                stub = realtime_pb2_grpc.RealtimeDataStub(chan.channel)
                await unary(stub.ListSources, realtime_pb2.ListSourcesRequest())
        finally:
            await host.stop(grace_s=1.0)  # shuts the provider down: what is batched is exported now

        def exported(spans: list[ReceivedSpan]) -> bool:
            return any(s.name == "/agentplane.v1.RealtimeData/ListSources" for s in spans)

        if endpoint_given:
            spans = await collector.wait_for(exported, timeout_s=10.0)
            (span,) = [s for s in spans if s.name == "/agentplane.v1.RealtimeData/ListSources"]
            assert span.service == "agentplane-realtime" and span.kind == 2  # SPAN_KIND_SERVER
            assert len(span.trace_id) == 32 and not span.parent_span_id
        else:
            assert collector.spans == []
    finally:
        await collector.aclose()

"""Domain inference's /metrics: calls by path, texts per call, batches formed, Triton's state; exact changes."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from agentplane.errors import InvalidArgumentError
from agentplane.metrics import Window, scrape
from agentplane.rpc import unary
from agentplane.v1 import inference_pb2, inference_pb2_grpc
from domain_inference.server import build_server
from tests.domain_inference.test_inference import dead_address, settings_for
from tests.support.servers import channel, running


async def test_calls_are_counted_by_path_with_triton_unreachable(tmp_path: Path, artifacts_dir: Path) -> None:
    settings = settings_for(tmp_path, artifacts_dir, dead_address(), failure_threshold=2)
    settings = settings.model_copy(
        update={"triton_client": settings.triton_client.model_copy(update={"metrics_url": f"http://{dead_address()}/"})}
    )
    host = build_server(settings)
    async with running(host) as address, channel(address) as chan, aiohttp.ClientSession() as http:
        assert host.metrics_endpoint is not None
        before = await scrape(http, host.metrics_endpoint.url)
        stub = inference_pb2_grpc.DomainInferenceStub(chan.channel)
        news = ["The striker scored twice in the league match.", "Shares fell after the earnings report."]
        await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=news))
        await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=news[:1]))
        await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=news[1:]))
        await unary(stub.Embed, inference_pb2.DomainEmbedRequest(texts=[*news, "a third text"]))
        with pytest.raises(InvalidArgumentError):
            await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=[""]))
        window = Window(before, await scrape(http, host.metrics_endpoint.url))

    calls = window.increase_by("agentplane_inference_calls_total", "kind", path="in_process")
    assert calls == {"classify": 3.0, "embed": 1.0}
    assert window.increase("agentplane_inference_calls_total", path="triton") == 0
    assert window.increase("agentplane_inference_texts_per_call_count", kind="classify") == 3
    assert window.increase("agentplane_inference_texts_per_call_sum", kind="classify") == 4
    assert window.increase("agentplane_inference_texts_per_call_sum", kind="embed") == 3
    # Every text ran through the in-process micro-batchers (how many batches formed depends on timing).
    assert window.increase("agentplane_inference_fallback_batch_items_total", kind="classify") == 4
    assert 1 <= window.increase("agentplane_inference_fallback_batches_total", kind="classify") <= 3
    # Two connection failures opened Triton's breaker; Triton's metrics endpoint is down too.
    open_ = window.after.samples("agentplane_breaker_state", breaker="domain_inference.triton", state="open")
    assert open_[0].value == 1.0
    assert window.after.value("agentplane_inference_triton_up") == 0.0
    handled = window.increase_by("agentplane_grpc_server_handled_total", "grpc_code", grpc_method="Classify")
    assert handled == {"OK": 3.0, "INVALID_ARGUMENT": 1.0}

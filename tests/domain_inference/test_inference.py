"""Triton unreachable -> in-process fallback (micro-batched, circuit breaker), agreement, recovery."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentplane.errors import UnavailableError
from agentplane.resilience import BreakerState
from agentplane.rpc import unary
from agentplane.v1 import inference_pb2, inference_pb2_grpc
from domain_inference.artifacts import ModelArtifacts
from domain_inference.config import DomainInferenceSettings
from domain_inference.models import ModelKind
from domain_inference.server import RUNTIME, SERVICE_NAME, build_server
from tests.domain_inference.triton_support import TritonUnderTest, free_ports, shared_triton
from tests.support.servers import channel, running
from tests.support.settings import test_settings

TRITON = inference_pb2.INFERENCE_PATH_TRITON
IN_PROCESS = inference_pb2.INFERENCE_PATH_IN_PROCESS
RECOVERY_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def triton(request: pytest.FixtureRequest, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return shared_triton(request.config, artifacts_dir, tmp_path_factory.mktemp("triton"))


def settings_for(tmp_path: Path, artifacts_dir: Path, address: str, **fallback: Any) -> DomainInferenceSettings:
    overrides = {
        "models_dir": str(artifacts_dir),
        "triton_client": {"address": address, "reconnect_backoff_max_s": 0.2},
        "fallback": {"failure_threshold": 2, "cool_down_s": 300.0, **fallback},
    }
    return test_settings(DomainInferenceSettings, "domain_inference", tmp_path, **overrides)


def dead_address() -> str:
    return f"127.0.0.1:{free_ports(1)[0]}"


def sample_texts(artifacts: ModelArtifacts) -> list[str]:
    articles = [json.loads(x)["text"] for x in artifacts.news_test_path.read_text().splitlines()[:6]]
    short = [json.loads(x)["text"] for x in artifacts.news_test_short_path.read_text().splitlines()[:6]]
    reviews = [json.loads(x)["text"] for x in artifacts.ood_eval_path.read_text().splitlines()[:3]]
    return [*articles, *short, *reviews, "Stocks " * 600, "é ü 東京 🚀"]


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
    """Re-run `check` until it holds or `timeout_s` passes (polls an external process)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_unreachable_triton_degrades_to_in_process_and_stays_serving(tmp_path: Path, artifacts_dir: Path) -> None:
    server = build_server(settings_for(tmp_path, artifacts_dir, dead_address()))
    async with running(server) as address, channel(address) as chan:
        stub = inference_pb2_grpc.DomainInferenceStub(chan.channel)
        first = await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=["Chelsea won the cup final."]))
        assert first.path == IN_PROCESS and first.results[0].label == "sport"
        assert [d.component for d in first.degradations] == ["domain_inference.triton"]
        assert "unreachable" in first.degradations[0].reason and first.degradations[0].penalty == 1.0
        await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=["Shares fell."]))
        assert server[RUNTIME].breaker.state is BreakerState.OPEN
        started = time.monotonic()
        embed = await unary(stub.Embed, inference_pb2.DomainEmbedRequest(texts=["Markets rallied."]))
        assert time.monotonic() - started < 5.0, "an open breaker must not wait on Triton"
        assert embed.path == IN_PROCESS and "circuit open" in embed.degradations[0].reason
        models = await unary(stub.ListModels, inference_pb2.ListModelsRequest())
        assert {m.path for m in models.models} == {IN_PROCESS} and all(m.ready for m in models.models)
        health = health_pb2_grpc.HealthStub(chan.channel)
        status = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        assert status.status == health_pb2.HealthCheckResponse.SERVING


async def test_without_fallback_an_unreachable_triton_is_unavailable(tmp_path: Path, artifacts_dir: Path) -> None:
    server = build_server(settings_for(tmp_path, artifacts_dir, dead_address(), enabled=False))
    async with running(server) as address, channel(address) as chan:
        stub = inference_pb2_grpc.DomainInferenceStub(chan.channel)
        with pytest.raises(UnavailableError, match=r"Triton at 127\.0\.0\.1"):
            await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=["x"]))


async def test_fallback_micro_batches_concurrent_callers(tmp_path: Path, artifacts_dir: Path) -> None:
    server = build_server(settings_for(tmp_path, artifacts_dir, dead_address(), max_wait_ms=5.0))
    async with running(server) as address, channel(address) as chan:
        stub = inference_pb2_grpc.DomainInferenceStub(chan.channel)
        texts = [f"Share prices moved {i} points on the stock exchange today." for i in range(32)]
        calls = [unary(stub.Classify, inference_pb2.ClassifyRequest(texts=[t])) for t in texts]
        responses = await asyncio.gather(*calls)
        assert all(r.path == IN_PROCESS and r.results[0].label == "business" for r in responses)
        assert server[RUNTIME].local is not None
        stats = server[RUNTIME].local.stats[ModelKind.CLASSIFIER]
        assert stats.requests == 32 and stats.items == 32
        assert stats.batches < 32, "concurrent callers must share ONNX Runtime runs"


async def test_triton_and_in_process_paths_agree(
    tmp_path: Path, artifacts_dir: Path, artifacts: ModelArtifacts, triton: TritonUnderTest
) -> None:
    texts = sample_texts(artifacts)
    triton_server = build_server(settings_for(tmp_path / "a", artifacts_dir, triton.grpc_address, preload=False))
    local_server = build_server(settings_for(tmp_path / "b", artifacts_dir, dead_address()))
    answers = {}
    for name, server in (("triton", triton_server), ("local", local_server)):
        async with running(server) as address, channel(address) as chan:
            stub = inference_pb2_grpc.DomainInferenceStub(chan.channel)
            classified = await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=texts))
            embedded = await unary(stub.Embed, inference_pb2.DomainEmbedRequest(texts=texts))
            answers[name] = (classified, embedded)
    (tc, te), (lc, le) = answers["triton"], answers["local"]
    assert tc.path == TRITON and lc.path == IN_PROCESS
    for a, b in zip(tc.results, lc.results, strict=True):
        assert (a.label, a.out_of_domain, a.truncated, a.token_count) == (
            b.label,
            b.out_of_domain,
            b.truncated,
            b.token_count,
        )
        assert abs(a.confidence - b.confidence) < 1e-4
        pa = {p.label: p.probability for p in a.probabilities}
        pb = {p.label: p.probability for p in b.probabilities}
        assert max(abs(pa[k] - pb[k]) for k in pa) < 1e-4
    va = np.array([list(e.values) for e in te.embeddings])
    vb = np.array([list(e.values) for e in le.embeddings])
    assert np.abs(va - vb).max() < 1e-4
    assert list(te.truncated) == list(le.truncated)


async def test_recovers_when_triton_comes_back(tmp_path: Path, artifacts_dir: Path) -> None:
    ports = free_ports(3)
    address = f"127.0.0.1:{ports[1]}"
    settings = settings_for(tmp_path, artifacts_dir, address, failure_threshold=1, cool_down_s=0.2)
    server = build_server(settings)
    request = inference_pb2.ClassifyRequest(texts=["The striker scored twice in the league match."])
    async with running(server) as service, channel(service) as chan:
        stub = inference_pb2_grpc.DomainInferenceStub(chan.channel)
        assert (await unary(stub.Classify, request)).path == IN_PROCESS
        triton = TritonUnderTest(artifacts_dir, tmp_path / "triton", ports=ports)
        await asyncio.to_thread(triton.start)
        try:

            async def on_triton() -> bool:
                return bool((await unary(stub.Classify, request)).path == TRITON)

            assert await eventually(on_triton, RECOVERY_TIMEOUT_S), "never went back to Triton"
            assert server[RUNTIME].breaker.state is BreakerState.CLOSED
        finally:
            code = await asyncio.to_thread(triton.stop)
        assert code == 0, "SIGTERM must stop the launcher and tritonserver cleanly"
        after = await unary(stub.Classify, request)
        assert after.path == IN_PROCESS and after.results[0].label == "sport"

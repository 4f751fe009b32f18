"""DomainInference over a real gRPC server and a real Triton: labels, batching, errors, limits, cards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentplane.errors import InvalidArgumentError, NotFoundError
from agentplane.rpc import unary
from agentplane.v1 import inference_pb2, inference_pb2_grpc
from domain_inference.adapters.triton import TritonBackend
from domain_inference.artifacts import ModelArtifacts
from domain_inference.config import DomainInferenceSettings, TritonClientSettings
from domain_inference.server import build_server
from tests.domain_inference.triton_support import TritonUnderTest, settled_statistics, shared_triton
from tests.support.servers import channel, running
from tests.support.settings import test_settings

TRITON = inference_pb2.INFERENCE_PATH_TRITON


@pytest.fixture(scope="module")
def triton(request: pytest.FixtureRequest, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return shared_triton(request.config, artifacts_dir, tmp_path_factory.mktemp("triton"))


def service_settings(tmp_path: Path, artifacts_dir: Path, triton_address: str, **extra: Any) -> DomainInferenceSettings:
    overrides: dict[str, Any] = {
        "models_dir": str(artifacts_dir),
        "triton_client": {"address": triton_address},
        "fallback": {"preload": False},
    }
    overrides.update(extra)
    return test_settings(DomainInferenceSettings, "domain_inference", tmp_path, **overrides)


@pytest.fixture
async def stub(tmp_path: Path, artifacts_dir: Path, triton: TritonUnderTest) -> AsyncIterator[Any]:
    server = build_server(service_settings(tmp_path, artifacts_dir, triton.grpc_address))
    async with running(server) as address, channel(address) as chan:
        yield inference_pb2_grpc.DomainInferenceStub(chan.channel)


def held_out(artifacts: ModelArtifacts, per_label: int) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in artifacts.news_test_path.read_text().splitlines() if line.strip()]
    picked: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        picked.setdefault(row["label"], [])
        if len(picked[row["label"]]) < per_label:
            picked[row["label"]].append(row)
    return [row for group in picked.values() for row in group]


async def test_held_out_articles_get_correct_labels_through_triton(stub: Any, artifacts: ModelArtifacts) -> None:
    rows = held_out(artifacts, per_label=6)
    request = inference_pb2.ClassifyRequest(model="news-topic", texts=[r["text"] for r in rows])
    response = await unary(stub.Classify, request)
    assert response.path == TRITON and not response.degradations
    assert len(response.results) == len(rows)
    correct = sum(r.label == row["label"] for r, row in zip(response.results, rows, strict=True))
    assert correct / len(rows) >= 0.9, f"{correct}/{len(rows)}"
    labels = set(artifacts.topic.labels)
    for result in response.results:
        probs = [p.probability for p in result.probabilities]
        assert {p.label for p in result.probabilities} == labels
        assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1.0) < 1e-4
        assert result.label == result.probabilities[0].label
        assert result.model == "news-topic" and result.model_version
        assert 0.0 <= result.confidence <= result.probabilities[0].probability + 1e-9
        assert result.ood_threshold == 1.0
    confident = [r for r in response.results if r.confidence >= 0.85]
    assert confident and all(not r.out_of_domain for r in confident)


async def test_concurrent_callers_are_batched_by_triton(
    tmp_path: Path, artifacts_dir: Path, triton: TritonUnderTest, artifacts: ModelArtifacts
) -> None:
    titles = [r["text"].split("\n", 1)[0] for r in held_out(artifacts, per_label=10)]
    stats = TritonBackend(triton.grpc_address, TritonClientSettings())
    await stats.start()
    before = await stats.statistics("encoder")
    server = build_server(service_settings(tmp_path, artifacts_dir, triton.grpc_address))
    async with running(server) as address, channel(address) as chan:
        stub = inference_pb2_grpc.DomainInferenceStub(chan.channel)
        calls = [unary(stub.Classify, inference_pb2.ClassifyRequest(texts=[t])) for t in titles]
        responses = await asyncio.gather(*calls)
    after = await settled_statistics(stats, "encoder", requests=before.requests + len(titles))
    await stats.aclose()
    assert all(r.path == TRITON for r in responses)
    inferences, executions = after.inferences - before.inferences, after.executions - before.executions
    assert inferences == len(titles)
    assert executions < len(titles), f"{len(titles)} requests ran in {executions} executions: no batching"


async def test_embed_returns_unit_vectors(stub: Any) -> None:
    response = await unary(stub.Embed, inference_pb2.DomainEmbedRequest(texts=["Markets rallied.", "Goal!"]))
    assert response.path == TRITON and response.model == "text-encoder" and response.dimensions == 384
    vectors = np.array([list(e.values) for e in response.embeddings])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert list(response.truncated) == [False, False]


async def test_very_long_text_is_truncated_at_the_model_max(stub: Any) -> None:
    long_text = "The central bank raised interest rates again as inflation stayed high. " * 700
    response = await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=[long_text, "Shares fell."]))
    first, second = response.results
    assert first.truncated and first.token_count == 256 and first.label == "business"
    assert not second.truncated and 2 < second.token_count < 10


async def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(stub: Any) -> None:
    with pytest.raises(InvalidArgumentError, match=r"texts\[1\]: text is empty") as info:
        await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=["fine", "  "]))
    assert [v.field for v in info.value.violations] == ["texts[1]"]
    with pytest.raises(InvalidArgumentError, match="too many texts: 65 > 64"):
        await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=["x"] * 65))
    with pytest.raises(InvalidArgumentError, match=r"texts\[0\]: 100001 characters > 100000"):
        await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=["x" * 100_001]))
    with pytest.raises(InvalidArgumentError, match="texts is empty"):
        await unary(stub.Embed, inference_pb2.DomainEmbedRequest(texts=[]))
    with pytest.raises(NotFoundError, match="'no-such-model' is not served; known models: news-topic, text-encoder"):
        await unary(stub.Classify, inference_pb2.ClassifyRequest(model="no-such-model", texts=["x"]))
    with pytest.raises(InvalidArgumentError, match="is a encoder; call Embed"):
        await unary(stub.Classify, inference_pb2.ClassifyRequest(model="text-encoder", texts=["x"]))
    response = await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=["Chelsea won the cup final."]))
    assert response.results[0].label == "sport" and response.path == TRITON


async def test_movie_review_is_out_of_domain(stub: Any, artifacts: ModelArtifacts) -> None:
    rows = [json.loads(line) for line in artifacts.ood_eval_path.read_text().splitlines() if line.strip()]
    reviews = [r["text"] for r in rows if r.get("kind") == "review"][:10] or [r["text"] for r in rows[:10]]
    response = await unary(stub.Classify, inference_pb2.ClassifyRequest(texts=reviews))
    flagged = [r for r in response.results if r.out_of_domain]
    assert len(flagged) >= 8
    assert all(r.confidence <= 0.5 and r.ood_score > r.ood_threshold for r in flagged)


async def test_list_models_with_cards(stub: Any, artifacts: ModelArtifacts) -> None:
    response = await unary(stub.ListModels, inference_pb2.ListModelsRequest())
    models = {m.name: m for m in response.models}
    assert set(models) == {"news-topic", "text-encoder"}
    topic, encoder = models["news-topic"], models["text-encoder"]
    assert topic.kind == "classifier" and list(topic.labels) == list(artifacts.topic.labels)
    assert encoder.kind == "encoder" and encoder.embedding_dimensions == 384
    for model in (topic, encoder):
        assert model.ready and model.path == TRITON and model.max_tokens == 256 and model.version
        assert model.card.description and model.card.markdown.startswith("# Model card")
        assert json.loads(model.card.json)["model"] == model.name
    assert any(m.name.endswith("accuracy") for m in topic.card.metrics)

"""The `agentplane.v1.DomainInference` servicer: protobuf <-> domain, one method per RPC.

Layer: RPC boundary (the only module that touches `inference_pb2`). Each method resolves the
model, validates the texts, lets the router run the inference (Triton, or in process while
Triton is unreachable), and converts the columnar result to messages in one pass. Errors are
raised as `AgentplaneError`s; the shared interceptor turns them into rich statuses.
"""

from __future__ import annotations

from typing import Any

import grpc

from agentplane.v1 import common_pb2, inference_pb2, inference_pb2_grpc
from domain_inference.classification import OOD_THRESHOLD, ClassificationBatch, interpret
from domain_inference.config import DomainInferenceSettings
from domain_inference.inference import Degradation, InferencePath
from domain_inference.models import ModelCard, ModelKind, ModelSpec
from domain_inference.runtime import InferenceRuntime
from domain_inference.validation import validate_texts

__all__ = ["DomainInferenceServicer"]

_PATHS = {
    InferencePath.TRITON: inference_pb2.INFERENCE_PATH_TRITON,
    InferencePath.IN_PROCESS: inference_pb2.INFERENCE_PATH_IN_PROCESS,
}


def _degradations(items: tuple[Degradation, ...]) -> list[common_pb2.Degradation]:
    return [common_pb2.Degradation(component=d.component, reason=d.reason, penalty=d.penalty) for d in items]


def _classifications(spec: ModelSpec, batch: ClassificationBatch) -> list[inference_pb2.Classification]:
    labels = spec.labels
    ranked = batch.ranked.tolist()
    probs = batch.ranked_probs.tolist()
    confidence = batch.confidence.tolist()
    ood = batch.out_of_domain.tolist()
    score = batch.ood_score.tolist()
    tokens = batch.token_counts.tolist()
    truncated = batch.truncated.tolist()
    LabelProbability, Classification = inference_pb2.LabelProbability, inference_pb2.Classification  # noqa: N806
    return [
        Classification(
            label=labels[ranked[i][0]],
            probabilities=[
                LabelProbability(label=labels[j], probability=p) for j, p in zip(ranked[i], probs[i], strict=False)
            ],
            confidence=confidence[i],
            out_of_domain=ood[i],
            ood_score=score[i],
            ood_threshold=OOD_THRESHOLD,
            model=spec.name,
            model_version=spec.version,
            truncated=truncated[i],
            token_count=tokens[i],
        )
        for i in range(len(batch))
    ]


def _card(card: ModelCard | None) -> inference_pb2.ModelCard:
    if card is None:
        return inference_pb2.ModelCard()
    return inference_pb2.ModelCard(
        description=card.description,
        training_data=card.training_data,
        split=card.split,
        metrics=[inference_pb2.ModelMetric(name=n, value=v) for n, v in card.metrics],
        markdown=card.markdown,
        json=card.json,
    )


class DomainInferenceServicer(inference_pb2_grpc.DomainInferenceServicer):
    """Classify, Embed and ListModels over the runtime's router.

    Args:
        runtime: Started runtime (catalog, router).
        settings: Service settings (defaults, limits, confidence cap).
    """

    def __init__(self, runtime: InferenceRuntime, settings: DomainInferenceSettings) -> None:
        self._runtime = runtime
        self._settings = settings

    async def Classify(  # noqa: N802 - gRPC method name
        self, request: inference_pb2.ClassifyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> inference_pb2.ClassifyResponse:
        """Label, calibrated probabilities, confidence and OOD flag per text."""
        catalog, router = await self._runtime.ready()
        spec = catalog.get(request.model or self._settings.default_classifier, ModelKind.CLASSIFIER)
        texts = list(request.texts)
        validate_texts(texts, self._settings.requests)
        routed = await router.classify(spec, texts)
        batch = interpret(spec, routed.value, self._settings.ood_confidence_cap)
        return inference_pb2.ClassifyResponse(
            results=_classifications(spec, batch),
            path=_PATHS[routed.path],
            degradations=_degradations(routed.degradations),
        )

    async def Embed(  # noqa: N802 - gRPC method name
        self, request: inference_pb2.DomainEmbedRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> inference_pb2.DomainEmbedResponse:
        """Unit-norm sentence embeddings per text."""
        catalog, router = await self._runtime.ready()
        spec = catalog.get(request.model or self._settings.default_encoder, ModelKind.ENCODER)
        texts = list(request.texts)
        validate_texts(texts, self._settings.requests)
        routed = await router.embed(spec, texts)
        out = routed.value
        return inference_pb2.DomainEmbedResponse(
            embeddings=[common_pb2.Embedding(values=row) for row in out.vectors.tolist()],
            model=spec.name,
            model_version=spec.version,
            dimensions=int(out.vectors.shape[1]) if out.vectors.ndim == 2 else spec.embedding_dimensions,
            path=_PATHS[routed.path],
            degradations=_degradations(routed.degradations),
            truncated=out.truncated.tolist(),
        )

    async def ListModels(  # noqa: N802 - gRPC method name
        self, request: inference_pb2.ListModelsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> inference_pb2.ListModelsResponse:
        """Served models with their cards, the path a call would take now, and readiness."""
        catalog, router = await self._runtime.ready()
        infos = []
        for spec in catalog.models:
            path, ready = await router.path_for(spec)
            infos.append(
                inference_pb2.ModelInfo(
                    name=spec.name,
                    version=spec.version,
                    kind=spec.kind.value,
                    labels=list(spec.labels),
                    max_tokens=spec.max_tokens,
                    embedding_dimensions=spec.embedding_dimensions,
                    card=_card(spec.card),
                    path=_PATHS[path],
                    ready=ready,
                )
            )
        return inference_pb2.ListModelsResponse(models=infos)

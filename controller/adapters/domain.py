"""Domain inference over gRPC: classification and embeddings.

Layer: controller adapters (translates agentplane.v1 inference messages). Each
classification carries its model card's figures (read once per model version with
ListModels) so that reviewers see how good the model is next to its answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentplane.errors import AgentplaneError
from agentplane.rpc import unary
from agentplane.v1 import inference_pb2, inference_pb2_grpc
from controller.adapters.downstream import Downstream
from controller.capabilities import CallInfo, ClassifyOut
from controller.models import Degradation

__all__ = ["DomainClient"]

# The model card's headline figures kept with each classification (a card has
# hundreds, per bucket and per data set): "<section>.<data set>.<figure>" only.
_HEADLINE = frozenset({"accuracy", "macro_f1", "ece_15", "nll", "coverage_at_1pct_error", "error_at_95pct_coverage"})
_MAX_CARD_FIGURES = 16


def _headline(name: str) -> bool:
    parts = name.split(".")
    return len(parts) <= 3 and parts[-1] in _HEADLINE


class DomainClient:
    """Implements DomainCapability against agentplane.v1.DomainInference.

    Args:
        downstream: The domain-inference service.
        embed_model: Model used by `embed`.
    """

    def __init__(self, downstream: Downstream, embed_model: str = "text-encoder") -> None:
        self._down = downstream
        self._stub = inference_pb2_grpc.DomainInferenceStub(downstream.channel.channel)
        self._embed_model = embed_model
        self._cards: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {}

    async def _card(self, model: str, version: str) -> tuple[tuple[str, float], ...]:
        """The model card's figures of one model version (empty when they cannot be read)."""
        if (model, version) not in self._cards:
            request = inference_pb2.ListModelsRequest()
            try:
                listed, _ = await self._down.call(
                    "ListModels", lambda t: unary(self._stub.ListModels, request, timeout_s=t)
                )
            except AgentplaneError:
                return ()  # evidence for reviewers only: never fail a task for it (read again next time)
            for m in listed.models:
                figures = [(x.name, x.value) for x in m.card.metrics if _headline(x.name)]
                self._cards[(m.name, m.version)] = tuple(figures[:_MAX_CARD_FIGURES])
        return self._cards.get((model, version), ())

    async def classify(self, model: str, texts: Sequence[str]) -> tuple[list[ClassifyOut], CallInfo]:
        """Classify texts with `model`."""
        request = inference_pb2.ClassifyRequest(model=model, texts=list(texts))
        response, info = await self._down.call("Classify", lambda t: unary(self._stub.Classify, request, timeout_s=t))
        degradations = tuple(Degradation(d.component, d.reason, d.penalty or 1.0) for d in response.degradations)
        in_process = response.path == inference_pb2.INFERENCE_PATH_IN_PROCESS
        if in_process and not degradations:
            degradations = (Degradation("domain_inference.triton", "served by the in-process fallback", 1.0),)
        cards = {(r.model, r.model_version): await self._card(r.model, r.model_version) for r in response.results}
        outs = [
            ClassifyOut(
                label=r.label,
                probabilities={p.label: p.probability for p in r.probabilities},
                confidence=r.confidence,
                out_of_domain=r.out_of_domain,
                ood_score=r.ood_score,
                ood_threshold=r.ood_threshold,
                model=r.model,
                version=r.model_version,
                truncated=r.truncated,
                degradations=degradations,
                card=cards[(r.model, r.model_version)],
            )
            for r in response.results
        ]
        detail = {"model": model, "path": inference_pb2.InferencePath.Name(response.path)}
        return outs, CallInfo(info.service, info.method, info.latency_ms, info.attempts, info.outcome, detail)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-norm embeddings of texts."""
        request = inference_pb2.DomainEmbedRequest(model=self._embed_model, texts=list(texts))
        response, _ = await self._down.call("Embed", lambda t: unary(self._stub.Embed, request, timeout_s=t))
        return [list(e.values) for e in response.embeddings]

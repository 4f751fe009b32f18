"""Domain inference over gRPC: classification and embeddings.

Layer: controller adapters (translates agentplane.v1 inference messages).
"""

from __future__ import annotations

from collections.abc import Sequence

from agentplane.rpc import unary
from agentplane.v1 import inference_pb2, inference_pb2_grpc
from controller.adapters.downstream import Downstream
from controller.capabilities import CallInfo, ClassifyOut
from controller.models import Degradation

__all__ = ["DomainClient"]


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

    async def classify(self, model: str, texts: Sequence[str]) -> tuple[list[ClassifyOut], CallInfo]:
        """Classify texts with `model`."""
        request = inference_pb2.ClassifyRequest(model=model, texts=list(texts))
        response, info = await self._down.call("Classify", lambda t: unary(self._stub.Classify, request, timeout_s=t))
        degradations = tuple(Degradation(d.component, d.reason, d.penalty or 1.0) for d in response.degradations)
        in_process = response.path == inference_pb2.INFERENCE_PATH_IN_PROCESS
        if in_process and not degradations:
            degradations = (Degradation("domain_inference.triton", "served by the in-process fallback", 1.0),)
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

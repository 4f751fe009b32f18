"""Domain inference as an MCP server: classify_text, embed_text; model cards as resources.

Layer: MCP adapter (translates MCP arguments <-> agentplane.v1 inference messages). Each
tool is one gRPC call to DomainInference through the shared `ServiceLink`, made with
the caller's key; request limits, calibration, out-of-domain detection and the Triton /
in-process paths are the service's own. Registered as `domain_inference` in the
`agentplane.mcp` entry-point group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from agentplane.mcp import ServiceLink, new_server
from agentplane.mcp.convert import enum_name
from agentplane.v1 import common_pb2, inference_pb2, inference_pb2_grpc

__all__ = ["ClassificationOut", "Classifications", "DegradationOut", "LabelProbability", "TextEmbeddings", "build"]

_PURE = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
_TEXTS = Field(min_length=1, description="Texts, one result each (at most the service's max_texts, 64 by default).")


class LabelProbability(BaseModel):
    """A label and its calibrated probability."""

    label: str
    probability: float


class ClassificationOut(BaseModel):
    """One text's classification."""

    label: str
    confidence: float = Field(description="Calibrated probability of the label, lowered when out of domain.")
    probabilities: list[LabelProbability] = Field(description="Highest first.")
    out_of_domain: bool
    ood_score: float = Field(description="Higher = less like the training domain.")
    ood_threshold: float
    model: str
    model_version: str
    truncated: bool = Field(description="The text was cut at the model's max tokens.")
    token_count: int


class DegradationOut(BaseModel):
    """A component that answered on a degraded path."""

    component: str
    reason: str
    penalty: float


class Classifications(BaseModel):
    """Classifications of the texts, in order."""

    results: list[ClassificationOut]
    path: str = Field(description="triton, or in_process (degraded fallback).")
    degradations: list[DegradationOut]


class TextEmbeddings(BaseModel):
    """Unit-norm sentence embeddings of the texts, in order."""

    model: str
    model_version: str
    dimensions: int
    embeddings: list[list[float]]
    truncated: list[bool]
    path: str
    degradations: list[DegradationOut]


def _degradations(items: Iterable[common_pb2.Degradation]) -> list[DegradationOut]:
    return [DegradationOut(component=d.component, reason=d.reason, penalty=d.penalty) for d in items]


def _path(value: int) -> str:
    return enum_name(inference_pb2.InferencePath, value, "INFERENCE_PATH_")


def _classification(c: inference_pb2.Classification) -> ClassificationOut:
    return ClassificationOut(
        label=c.label,
        confidence=c.confidence,
        probabilities=[LabelProbability(label=p.label, probability=p.probability) for p in c.probabilities],
        out_of_domain=c.out_of_domain,
        ood_score=c.ood_score,
        ood_threshold=c.ood_threshold,
        model=c.model,
        model_version=c.model_version,
        truncated=c.truncated,
        token_count=c.token_count,
    )


def build(link: ServiceLink) -> MCPServer[Any]:
    """The domain-inference MCP server; every tool calls DomainInference over `link`."""
    stub = inference_pb2_grpc.DomainInferenceStub(link.channel)
    server = new_server(
        "agentplane-domain-inference",
        (
            "Domain models served by Triton: a calibrated news-topic classifier with out-of-domain detection, "
            "and a sentence encoder. Model cards: models://<name>/card."
        ),
    )

    @server.tool(annotations=_PURE, title="Classify texts")
    async def classify_text(
        texts: Annotated[list[str], _TEXTS],
        ctx: Context,
        model: Annotated[str, Field(description="Classifier name; empty = the default (news-topic).")] = "",
    ) -> Classifications:
        """Classify texts with a domain model: label, calibrated probabilities, out-of-domain flag."""
        r = await link.call(stub.Classify, inference_pb2.ClassifyRequest(model=model, texts=texts), ctx)
        return Classifications(
            results=[_classification(c) for c in r.results],
            path=_path(r.path),
            degradations=_degradations(r.degradations),
        )

    @server.tool(annotations=_PURE, title="Embed texts")
    async def embed_text(
        texts: Annotated[list[str], _TEXTS],
        ctx: Context,
        model: Annotated[str, Field(description="Encoder name; empty = the default (text-encoder).")] = "",
    ) -> TextEmbeddings:
        """Sentence embeddings (mean-pooled, L2-normalised) from the domain text encoder."""
        r = await link.call(stub.Embed, inference_pb2.DomainEmbedRequest(model=model, texts=texts), ctx)
        return TextEmbeddings(
            model=r.model,
            model_version=r.model_version,
            dimensions=r.dimensions,
            embeddings=[list(e.values) for e in r.embeddings],
            truncated=list(r.truncated),
            path=_path(r.path),
            degradations=_degradations(r.degradations),
        )

    @server.resource(
        "models://{name}/card",
        name="model_card",
        description="The model card (Markdown) of a served domain model, e.g. models://news-topic/card.",
        mime_type="text/markdown",
    )
    async def model_card(name: str, ctx: Context) -> str:
        r = await link.read(stub.ListModels, inference_pb2.ListModelsRequest(), ctx)
        for info in r.models:
            if info.name == name:
                markdown: str = info.card.markdown
                return markdown
        known = ", ".join(m.name for m in r.models)
        raise ResourceNotFoundError(f"NOT_FOUND: no model named {name!r}; served: {known}")

    return server

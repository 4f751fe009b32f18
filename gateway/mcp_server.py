"""The LLM gateway as an MCP server: llm_complete and llm_embed.

Layer: MCP adapter (translates MCP arguments <-> agentplane.v1 gateway messages). Each
tool is one gRPC call to LLMGateway through the shared `ServiceLink`, made with the
caller's key, so routing, fallbacks, residency rules, budgets, caching and PII
redaction are the gateway's own. Registered as `gateway` in the `agentplane.mcp`
entry-point group.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from agentplane.mcp import ServiceLink, new_server
from agentplane.mcp.convert import enum_name
from agentplane.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc

__all__ = ["Completion", "Embeddings", "UsageOut", "build"]

Sensitivity = Literal["public", "internal", "confidential", "restricted"]


class UsageOut(BaseModel):
    """Tokens and money one call spent."""

    input_tokens: int
    output_tokens: int
    cost_usd: float
    upstream_calls: int


class Completion(BaseModel):
    """A chat completion and where it came from."""

    text: str
    finish_reason: str = Field(description="stop, length, tool_calls or content_filter.")
    model: str = Field(description="The alias that answered (after fallbacks).")
    deployment: str
    provider: str
    residency: str = Field(description="on_prem or cloud.")
    cache_hit: bool
    pii_redacted: bool
    usage: UsageOut


class Embeddings(BaseModel):
    """One embedding vector per input."""

    model: str
    deployment: str
    dimensions: int
    embeddings: list[list[float]]
    usage: UsageOut


def _sensitivity(value: Sensitivity) -> common_pb2.Sensitivity.ValueType:
    return common_pb2.Sensitivity.Value(f"SENSITIVITY_{value.upper()}")


def _usage(usage: common_pb2.Usage) -> UsageOut:
    return UsageOut(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        upstream_calls=usage.upstream_calls,
    )


def build(link: ServiceLink) -> MCPServer[Any]:
    """The gateway MCP server; every tool calls LLMGateway over `link`."""
    stub = gateway_pb2_grpc.LLMGatewayStub(link.channel)
    server = new_server(
        "agentplane-gateway",
        (
            "Completions and embeddings through the agentplane LLM gateway: model aliases with fallbacks, "
            "tenant budgets, and sensitive data kept on-premises."
        ),
    )

    @server.tool(
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=False, openWorldHint=True),
        title="LLM completion",
    )
    async def llm_complete(
        prompt: Annotated[str, Field(min_length=1, description="The user message.")],
        ctx: Context,
        system: Annotated[str, Field(description="Optional system message.")] = "",
        model: Annotated[str, Field(min_length=1, description="Gateway model alias.")] = "general",
        max_tokens: Annotated[
            int, Field(ge=0, description="Cap on generated tokens; 0 = the alias default (capped by tenant policy).")
        ] = 0,
        temperature: Annotated[
            float | None, Field(ge=0, le=2, description="Sampling temperature; default the alias's.")
        ] = None,
        sensitivity: Annotated[
            Sensitivity, Field(description="confidential/restricted data only reaches on-prem deployments.")
        ] = "internal",
        redact_pii: Annotated[bool, Field(description="Mask emails, phones, cards, IBANs before cloud calls.")] = False,
    ) -> Completion:
        """Generate a completion for a prompt through the LLM gateway (routing, fallbacks, budgets, residency)."""
        messages = [gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_USER, content=prompt)]
        if system:
            messages.insert(0, gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_SYSTEM, content=system))
        request = gateway_pb2.CompleteRequest(
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            sensitivity=_sensitivity(sensitivity),
            redact_pii=redact_pii,
        )
        if temperature is not None:
            request.temperature = temperature
        r = await link.call(stub.Complete, request, ctx)
        return Completion(
            text=r.message.content,
            finish_reason=enum_name(gateway_pb2.FinishReason, r.finish_reason, "FINISH_REASON_"),
            model=r.model,
            deployment=r.deployment,
            provider=r.provider,
            residency=r.residency,
            cache_hit=r.cache_hit,
            pii_redacted=r.pii_redacted,
            usage=_usage(r.usage),
        )

    @server.tool(
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True),
        title="LLM embeddings",
    )
    async def llm_embed(
        inputs: Annotated[list[str], Field(min_length=1, description="Texts to embed.")],
        ctx: Context,
        model: Annotated[str, Field(min_length=1, description="An embedding-capable model alias.")] = "embed",
        sensitivity: Annotated[
            Sensitivity, Field(description="confidential/restricted data only reaches on-prem deployments.")
        ] = "internal",
    ) -> Embeddings:
        """Embed texts with an embedding model alias of the LLM gateway."""
        request = gateway_pb2.LLMEmbedRequest(model=model, inputs=inputs, sensitivity=_sensitivity(sensitivity))
        r = await link.call(stub.Embed, request, ctx)
        vectors = [list(e.values) for e in r.embeddings]
        return Embeddings(
            model=r.model,
            deployment=r.deployment,
            dimensions=len(vectors[0]) if vectors else 0,
            embeddings=vectors,
            usage=_usage(r.usage),
        )

    return server

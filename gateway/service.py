"""The LLMGateway gRPC servicer: protobuf <-> domain translation, one method per RPC.

Layer: RPC boundary. Authentication, tenant limits and error mapping happen in the
shared PolicyInterceptor; this module only translates messages and calls the core
with the caller's tenant. It raises `AgentplaneError`s, never aborts a call.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from typing_extensions import override

from agentplane import request_context
from agentplane.errors import FieldViolation, InvalidArgumentError, PermissionDeniedError
from agentplane.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc
from gateway.budget import WindowReport
from gateway.core import GatewayCore
from gateway.models import (
    Attempt,
    CacheMode,
    ChatChunk,
    ChatRequest,
    ChatResult,
    EmbedRequest,
    Message,
    Sensitivity,
    TokenLogprob,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = ["LLMGatewayServicer"]

_ROLES = {
    gateway_pb2.ROLE_SYSTEM: "system",
    gateway_pb2.ROLE_USER: "user",
    gateway_pb2.ROLE_ASSISTANT: "assistant",
    gateway_pb2.ROLE_TOOL: "tool",
}
_FINISH = {
    "stop": gateway_pb2.FINISH_REASON_STOP,
    "length": gateway_pb2.FINISH_REASON_LENGTH,
    "tool_calls": gateway_pb2.FINISH_REASON_TOOL_CALLS,
    "content_filter": gateway_pb2.FINISH_REASON_CONTENT_FILTER,
}
_CACHE_MODES = {
    gateway_pb2.CachePolicy.MODE_UNSPECIFIED: CacheMode.USE,
    gateway_pb2.CachePolicy.MODE_USE: CacheMode.USE,
    gateway_pb2.CachePolicy.MODE_BYPASS: CacheMode.BYPASS,
    gateway_pb2.CachePolicy.MODE_REFRESH: CacheMode.REFRESH,
}


def _bad(field: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{field}: {problem}", reason="INVALID_REQUEST", violations=[FieldViolation(field, problem)]
    )


def sensitivity_from_proto(value: int) -> Sensitivity:
    """The domain sensitivity of a proto enum value (UNSPECIFIED = INTERNAL)."""
    try:
        return Sensitivity(value) if value else Sensitivity.INTERNAL
    except ValueError:
        raise _bad("sensitivity", f"unknown value {value}") from None


def _message(msg: gateway_pb2.ChatMessage, i: int) -> Message:
    role = _ROLES.get(msg.role)
    if role is None:
        raise _bad(f"messages[{i}].role", "must be SYSTEM, USER, ASSISTANT or TOOL")
    calls = tuple(ToolCall(c.id, c.name, c.arguments_json) for c in msg.tool_calls)
    return Message(role, msg.content, msg.name, calls, msg.tool_call_id)


def _tool(tool: gateway_pb2.ToolDefinition, i: int) -> ToolSpec:
    try:
        params = json.loads(tool.parameters_json_schema) if tool.parameters_json_schema else {"type": "object"}
    except ValueError as exc:
        raise _bad(f"tools[{i}].parameters_json_schema", f"not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise _bad(f"tools[{i}].parameters_json_schema", "must be a JSON Schema object")
    return ToolSpec(tool.name, tool.description, params)


def chat_request_from_proto(req: gateway_pb2.CompleteRequest) -> ChatRequest:
    """The domain request of a CompleteRequest.

    Raises:
        InvalidArgumentError: A malformed field (named).
    """
    if not req.model:
        raise _bad("model", "is required (a model alias; ListModels lists them)")
    cache_mode = _CACHE_MODES.get(req.cache.mode)
    if cache_mode is None:
        raise _bad("cache.mode", f"unknown value {req.cache.mode}")
    return ChatRequest(
        model=req.model,
        messages=[_message(m, i) for i, m in enumerate(req.messages)],
        temperature=req.temperature if req.HasField("temperature") else None,
        top_p=req.top_p if req.HasField("top_p") else None,
        max_tokens=req.max_tokens,
        stop=tuple(req.stop),
        seed=req.seed if req.HasField("seed") else None,
        logprobs=req.logprobs,
        top_logprobs=req.top_logprobs,
        sensitivity=sensitivity_from_proto(req.sensitivity),
        cache_mode=cache_mode,
        cache_allow_sampling=req.cache.allow_sampling,
        cache_ttl_s=req.cache.ttl_s,
        redact_pii=req.redact_pii,
        tools=tuple(_tool(t, i) for i, t in enumerate(req.tools)),
        tool_choice=req.tool_choice,
        response_format=req.response_format,
        metadata=dict(req.metadata),
    )


def _logprobs(items: list[TokenLogprob] | None) -> list[gateway_pb2.TokenLogprob]:
    return [
        gateway_pb2.TokenLogprob(
            token=lp.token,
            logprob=lp.logprob,
            top_logprobs=[gateway_pb2.TopLogprob(token=t, logprob=v) for t, v in lp.top],
        )
        for lp in items or ()
    ]


def _usage(usage: Usage) -> common_pb2.Usage:
    return common_pb2.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        upstream_calls=usage.upstream_calls,
    )


def _calls(calls: tuple[ToolCall, ...]) -> list[gateway_pb2.ToolCall]:
    return [gateway_pb2.ToolCall(id=c.id, name=c.name, arguments_json=c.arguments_json) for c in calls]


def attempts_to_proto(attempts: list[Attempt]) -> list[gateway_pb2.UpstreamAttempt]:
    """Routing records as UpstreamAttempt messages."""
    return [
        gateway_pb2.UpstreamAttempt(
            alias=a.alias,
            deployment=a.deployment,
            outcome=a.outcome,
            latency_ms=a.latency_ms,
            error=a.error,
            provider=a.provider,
            residency=a.residency,
            http_status=a.http_status,
            reason=a.reason,
            backoff_s=a.backoff_s,
        )
        for a in attempts
    ]


def response_to_proto(result: ChatResult) -> gateway_pb2.CompleteResponse:
    """The CompleteResponse of a chat result."""
    c = result.completion
    return gateway_pb2.CompleteResponse(
        id=result.id,
        model=result.alias,
        deployment=result.deployment,
        provider=result.provider,
        message=gateway_pb2.ChatMessage(
            role=gateway_pb2.ROLE_ASSISTANT, content=c.content, tool_calls=_calls(c.tool_calls)
        ),
        finish_reason=_FINISH.get(c.finish_reason, gateway_pb2.FINISH_REASON_UNSPECIFIED),
        logprobs=_logprobs(c.logprobs),
        usage=_usage(result.usage),
        cache_hit=result.cache_hit,
        attempts=attempts_to_proto(result.attempts),
        residency=result.residency,
        pii_redacted=result.pii_redacted,
    )


def chunk_to_proto(chunk: ChatChunk) -> gateway_pb2.CompleteChunk:
    """The CompleteChunk of a stream chunk."""
    out = gateway_pb2.CompleteChunk(delta=chunk.delta, logprobs=_logprobs(chunk.logprobs))
    if chunk.first:
        out.model, out.deployment, out.cache_hit = chunk.alias, chunk.deployment, chunk.cache_hit
        out.provider, out.residency, out.pii_redacted = chunk.provider, chunk.residency, chunk.pii_redacted
    if chunk.finish_reason:
        out.finish_reason = _FINISH.get(chunk.finish_reason, gateway_pb2.FINISH_REASON_UNSPECIFIED)
        out.cache_hit = chunk.cache_hit or out.cache_hit
        if chunk.usage is not None:
            out.usage.CopyFrom(_usage(chunk.usage))
        out.tool_calls.extend(_calls(chunk.tool_calls))
        out.attempts.extend(attempts_to_proto(chunk.attempts or []))
    return out


def _window(report: WindowReport) -> gateway_pb2.UsageWindow:
    used = report.used
    return gateway_pb2.UsageWindow(
        period=report.period,
        requests=used.requests,
        input_tokens=used.input_tokens,
        output_tokens=used.output_tokens,
        cost_usd=used.cost_usd,
        budget_usd=report.budget_usd,
        remaining_usd=report.remaining_usd,
        cache_hits=used.cache_hits,
        budget_tokens=report.budget_tokens,
        remaining_tokens=report.remaining_tokens,
    )


class LLMGatewayServicer(gateway_pb2_grpc.LLMGatewayServicer):
    """agentplane.v1.LLMGateway over the shared core.

    Args:
        core: The gateway core.
        default_deadline_s: Deadline of calls that carry none.
    """

    def __init__(self, core: GatewayCore, default_deadline_s: float) -> None:
        self._core = core
        self._default_deadline_s = default_deadline_s

    @contextlib.contextmanager
    def _deadline(self) -> Iterator[None]:
        if request_context.current().deadline is None:
            with request_context.deadline_scope(self._default_deadline_s):
                yield
        else:
            yield

    @override
    async def Complete(self, request: gateway_pb2.CompleteRequest, context: Any) -> gateway_pb2.CompleteResponse:
        """One chat completion."""
        req = chat_request_from_proto(request)
        with self._deadline():
            result = await self._core.complete(req, request_context.current().tenant)
        return response_to_proto(result)

    @override
    async def StreamComplete(
        self, request: gateway_pb2.CompleteRequest, context: Any
    ) -> AsyncIterator[gateway_pb2.CompleteChunk]:
        """The completion as a stream of chunks."""
        req = chat_request_from_proto(request)
        with self._deadline():
            async with contextlib.aclosing(self._core.stream(req, request_context.current().tenant)) as chunks:
                async for chunk in chunks:
                    yield chunk_to_proto(chunk)

    @override
    async def Embed(self, request: gateway_pb2.LLMEmbedRequest, context: Any) -> gateway_pb2.LLMEmbedResponse:
        """Embeddings from an embedding alias."""
        if not request.model:
            raise _bad("model", "is required")
        req = EmbedRequest(request.model, list(request.inputs), sensitivity_from_proto(request.sensitivity))
        with self._deadline():
            result = await self._core.embed(req, request_context.current().tenant)
        return gateway_pb2.LLMEmbedResponse(
            model=result.alias,
            deployment=result.deployment,
            embeddings=[common_pb2.Embedding(values=v) for v in result.vectors],
            usage=_usage(result.usage),
        )

    @override
    async def GetUsage(self, request: gateway_pb2.GetUsageRequest, context: Any) -> gateway_pb2.GetUsageResponse:
        """The caller's (or, for admins, any) tenant's usage and budgets."""
        principal = request_context.current().principal
        tenant = request_context.current().tenant
        if request.tenant and request.tenant != tenant:
            if principal is None or not principal.has_role("admin"):
                raise PermissionDeniedError(
                    f"only admins may read the usage of another tenant ({request.tenant!r})",
                    reason="TENANT_USAGE_DENIED",
                )
            tenant = request.tenant
        report = self._core.usage(tenant)
        return gateway_pb2.GetUsageResponse(
            tenant=tenant,
            daily=_window(report.daily),
            monthly=_window(report.monthly),
            by_model=[
                gateway_pb2.ModelUsage(
                    model=alias,
                    deployment=dep,
                    requests=c.requests,
                    input_tokens=c.input_tokens,
                    output_tokens=c.output_tokens,
                    cost_usd=c.cost_usd,
                )
                for alias, dep, c in report.by_deployment
            ],
            max_tokens_per_request=report.max_tokens_per_request,
        )

    @override
    async def ListModels(
        self, request: gateway_pb2.ListLLMModelsRequest, context: Any
    ) -> gateway_pb2.ListLLMModelsResponse:
        """The catalogue with each deployment's breaker state."""
        models = []
        for route, states in self._core.models():
            deployments = [
                gateway_pb2.LLMDeploymentInfo(
                    name=d.name,
                    provider=d.provider,
                    model=d.model,
                    residency=d.residency,
                    weight=d.weight,
                    input_price_per_1k=d.input_price_per_token * 1000.0,
                    output_price_per_1k=d.output_price_per_token * 1000.0,
                    breaker_state=states[d.name].value,
                )
                for d in route.deployments
            ]
            models.append(
                gateway_pb2.LLMModelInfo(
                    alias=route.alias,
                    deployments=deployments,
                    fallbacks=list(route.fallbacks),
                    supports_tools=any(d.supports_tools for d in route.deployments),
                    supports_logprobs=any(d.supports_logprobs for d in route.deployments),
                    supports_embeddings=route.embeddings,
                )
            )
        return gateway_pb2.ListLLMModelsResponse(models=models)

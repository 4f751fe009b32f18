"""The LLM gateway over gRPC: chat completions with logprobs and tool calls.

Layer: controller adapters (translates agentplane.v1 gateway messages).
"""

from __future__ import annotations

import json

from agentplane.rpc import unary
from agentplane.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc
from controller.adapters.downstream import Downstream
from controller.capabilities import CallInfo, ChatTurn, CompletionIn, CompletionOut, ToolCallOut
from controller.models import UsageTotals

__all__ = ["GatewayClient"]

_ROLES = {
    "system": gateway_pb2.ROLE_SYSTEM,
    "user": gateway_pb2.ROLE_USER,
    "assistant": gateway_pb2.ROLE_ASSISTANT,
    "tool": gateway_pb2.ROLE_TOOL,
}


def _message(turn: ChatTurn) -> gateway_pb2.ChatMessage:
    return gateway_pb2.ChatMessage(
        role=_ROLES[turn.role],
        content=turn.content,
        tool_call_id=turn.tool_call_id,
        tool_calls=[
            gateway_pb2.ToolCall(id=c.id, name=c.name, arguments_json=c.arguments_json) for c in turn.tool_calls
        ],
    )


class GatewayClient:
    """Implements LLMCapability against agentplane.v1.LLMGateway."""

    def __init__(self, downstream: Downstream) -> None:
        self._down = downstream
        self._stub = gateway_pb2_grpc.LLMGatewayStub(downstream.channel.channel)

    async def complete(self, request: CompletionIn) -> CompletionOut:
        """One chat completion."""
        proto = gateway_pb2.CompleteRequest(
            model=request.model,
            messages=[_message(m) for m in request.messages],
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            logprobs=request.logprobs,
            top_logprobs=request.top_logprobs,
            sensitivity=common_pb2.Sensitivity.Value(f"SENSITIVITY_{request.sensitivity}"),
            tools=[
                gateway_pb2.ToolDefinition(
                    name=t.name, description=t.description, parameters_json_schema=json.dumps(t.parameters_schema)
                )
                for t in request.tools
            ],
            metadata=request.metadata,
        )
        if request.seed is not None:
            proto.seed = request.seed
        r, info = await self._down.call("Complete", lambda t: unary(self._stub.Complete, proto, timeout_s=t))
        logprobs = tuple(lp.logprob for lp in r.logprobs) if r.logprobs else None
        detail = {
            "model": r.model,
            "deployment": r.deployment,
            "cache_hit": r.cache_hit,
            "attempts": [f"{a.deployment}:{a.outcome}" for a in r.attempts],
        }
        return CompletionOut(
            text=r.message.content,
            finish_reason=gateway_pb2.FinishReason.Name(r.finish_reason).removeprefix("FINISH_REASON_").lower(),
            token_logprobs=logprobs,
            usage=UsageTotals(
                r.usage.input_tokens, r.usage.output_tokens, r.usage.cost_usd, max(1, r.usage.upstream_calls)
            ),
            model=r.model,
            deployment=r.deployment,
            cache_hit=r.cache_hit,
            call=CallInfo(info.service, info.method, info.latency_ms, info.attempts, info.outcome, detail),
            tool_calls=tuple(ToolCallOut(c.id, c.name, c.arguments_json) for c in r.message.tool_calls),
        )

"""Request limits and well-formedness, checked before anything else happens.

Layer: domain. Both fronts translate their wire format into domain requests; this
module refuses what no provider should see (empty conversations, unknown roles,
oversized inputs, out-of-range parameters) with INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

from agentplane.errors import FieldViolation, InvalidArgumentError
from gateway.config import RequestLimitSettings
from gateway.models import ROLES, ChatRequest, EmbedRequest

__all__ = ["RequestValidator"]


def _bad(field: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{field}: {problem}", reason="INVALID_REQUEST", violations=[FieldViolation(field, problem)]
    )


class RequestValidator:
    """Checks requests against the configured limits.

    Args:
        limits: Size limits.
    """

    def __init__(self, limits: RequestLimitSettings) -> None:
        self._limits = limits

    def check_chat(self, req: ChatRequest) -> None:
        """Refuse a malformed or oversized chat request.

        Raises:
            InvalidArgumentError: With one field violation naming the problem.
        """
        limits = self._limits
        if not req.messages:
            raise _bad("messages", "at least one message is required")
        if len(req.messages) > limits.max_messages:
            raise _bad("messages", f"at most {limits.max_messages} messages are allowed, got {len(req.messages)}")
        chars = 0
        for i, msg in enumerate(req.messages):
            if msg.role not in ROLES:
                raise _bad(f"messages[{i}].role", "must be system, user, assistant or tool")
            if msg.role == "tool" and not msg.tool_call_id:
                raise _bad(f"messages[{i}].tool_call_id", "a tool message must name the call it answers")
            chars += len(msg.content)
            for call in msg.tool_calls:
                chars += len(call.arguments_json)
        for tool in req.tools:
            chars += len(tool.description) + len(tool.name)
        if chars > limits.max_input_chars:
            raise _bad("messages", f"input is {chars} characters; the limit is {limits.max_input_chars}")
        if req.temperature is not None and not 0.0 <= req.temperature <= 2.0:
            raise _bad("temperature", "must be in [0, 2]")
        if req.top_p is not None and not 0.0 <= req.top_p <= 1.0:
            raise _bad("top_p", "must be in [0, 1]")
        if req.max_tokens < 0:
            raise _bad("max_tokens", "must be >= 0 (0 = the model's default)")
        if len(req.stop) > limits.max_stop:
            raise _bad("stop", f"at most {limits.max_stop} stop sequences are allowed")
        if not 0 <= req.top_logprobs <= limits.max_top_logprobs:
            raise _bad("top_logprobs", f"must be in [0, {limits.max_top_logprobs}]")
        if len(req.tools) > limits.max_tools:
            raise _bad("tools", f"at most {limits.max_tools} tools are allowed")
        names = [t.name for t in req.tools]
        if len(set(names)) != len(names) or not all(names):
            raise _bad("tools", "tool names must be non-empty and unique")
        if req.tool_choice and req.tool_choice not in ("auto", "none", "required") and req.tool_choice not in names:
            raise _bad("tool_choice", f"{req.tool_choice!r} is neither auto, none, required nor a defined tool")
        if req.response_format not in ("", "text", "json_object"):
            raise _bad("response_format", 'must be "", "text" or "json_object"')
        if len(req.metadata) > limits.max_metadata_entries:
            raise _bad("metadata", f"at most {limits.max_metadata_entries} entries are allowed")
        if req.cache_ttl_s < 0:
            raise _bad("cache.ttl_s", "must be >= 0 (0 = the configured default)")

    def check_embed(self, req: EmbedRequest) -> None:
        """Refuse a malformed or oversized embedding request.

        Raises:
            InvalidArgumentError: With one field violation naming the problem.
        """
        if not req.inputs:
            raise _bad("inputs", "at least one input is required")
        if len(req.inputs) > self._limits.max_embed_inputs:
            raise _bad("inputs", f"at most {self._limits.max_embed_inputs} inputs are allowed")
        chars = sum(len(s) for s in req.inputs)
        if chars > self._limits.max_input_chars:
            raise _bad("inputs", f"input is {chars} characters; the limit is {self._limits.max_input_chars}")

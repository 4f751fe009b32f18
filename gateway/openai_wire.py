"""The OpenAI Chat Completions and Embeddings JSON shapes, both ways.

Layer: domain (pure translation, no I/O). The HTTP front uses the `*_from_request`
and `*_to_response` functions to speak OpenAI to its callers; the OpenAI adapter
uses `request_body` and `completion_from_response` to speak it to upstreams.
Documents are plain dicts produced by `json.loads`; every malformed field becomes
an `InvalidArgumentError` naming it.
"""

from __future__ import annotations

import array
import base64
import sys
from typing import Any

import orjson

from agentplane.errors import FieldViolation, InvalidArgumentError
from gateway.models import ChatRequest, Completion, Message, TokenLogprob, ToolCall, ToolSpec

__all__ = [
    "FINISH_FROM_OPENAI",
    "chat_request_from_request",
    "completion_from_response",
    "embedding_inputs_from_request",
    "embeddings_to_response",
    "logprobs_from_openai",
    "logprobs_to_openai",
    "message_to_openai",
    "request_body",
    "tool_calls_to_openai",
]

FINISH_FROM_OPENAI = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "eos": "stop",
}
_ROLE_FROM_OPENAI = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}


def _bad(field: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{field}: {problem}", reason="INVALID_REQUEST", violations=[FieldViolation(field, problem)]
    )


# --- outbound (gateway -> OpenAI-compatible upstream) ---------------------------------


def tool_calls_to_openai(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """Tool calls in OpenAI's shape."""
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}} for c in calls
    ]


def message_to_openai(msg: Message) -> dict[str, Any]:
    """One message in OpenAI's shape."""
    out: dict[str, Any] = {"role": msg.role, "content": msg.content}
    if msg.name:
        out["name"] = msg.name
    if msg.tool_calls:
        out["tool_calls"] = tool_calls_to_openai(msg.tool_calls)
        if not msg.content:
            out["content"] = None
    if msg.tool_call_id:
        out["tool_call_id"] = msg.tool_call_id
    return out


def _tool_choice_to_openai(choice: str) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def request_body(
    model: str,
    req: ChatRequest,
    *,
    stream: bool,
    logprobs: bool,
    max_tokens_field: str = "max_tokens",
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The upstream request body for a (policy-applied) chat request."""
    body: dict[str, Any] = {"model": model, "messages": [message_to_openai(m) for m in req.messages]}
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.max_tokens:
        body[max_tokens_field] = req.max_tokens
    if req.stop:
        body["stop"] = list(req.stop)
    if req.seed is not None:
        body["seed"] = req.seed
    if req.logprobs and logprobs:
        body["logprobs"] = True
        # llama.cpp's server returns no logprobs unless top_logprobs is present.
        body["top_logprobs"] = req.top_logprobs
    if req.tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in req.tools
        ]
        if req.tool_choice:
            body["tool_choice"] = _tool_choice_to_openai(req.tool_choice)
    if req.response_format == "json_object":
        body["response_format"] = {"type": "json_object"}
    if stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def logprobs_from_openai(block: Any) -> list[TokenLogprob] | None:
    """Token logprobs from an OpenAI `logprobs` object (None when absent)."""
    if not isinstance(block, dict):
        return None
    content = block.get("content")
    if not isinstance(content, list):
        return None
    return [
        TokenLogprob(
            str(item.get("token", "")),
            float(item.get("logprob", 0.0)),
            tuple((str(t.get("token", "")), float(t.get("logprob", 0.0))) for t in item.get("top_logprobs") or ()),
        )
        for item in content
    ]


def _tool_calls_from_message(msg: dict[str, Any]) -> tuple[ToolCall, ...]:
    calls = msg.get("tool_calls") or ()
    return tuple(
        ToolCall(str(c.get("id", "")), str(c["function"]["name"]), str(c["function"].get("arguments") or "{}"))
        for c in calls
    )


def completion_from_response(doc: dict[str, Any]) -> Completion:
    """A completion from an OpenAI chat.completion document.

    Raises:
        KeyError, TypeError, IndexError: The document is not a chat completion (the adapter maps these).
    """
    choice = doc["choices"][0]
    msg = choice["message"]
    usage = doc.get("usage")
    completion = Completion(
        content=msg.get("content") or "",
        finish_reason=FINISH_FROM_OPENAI.get(choice.get("finish_reason") or "stop", "stop"),
        tool_calls=_tool_calls_from_message(msg),
        logprobs=logprobs_from_openai(choice.get("logprobs")),
    )
    if isinstance(usage, dict):
        completion.input_tokens = int(usage.get("prompt_tokens") or 0)
        completion.output_tokens = int(usage.get("completion_tokens") or 0)
    else:
        completion.usage_reported = False
    return completion


# --- inbound (OpenAI-compatible caller -> gateway) ------------------------------------


def _content(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for i, part in enumerate(value):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _bad(f"{field}[{i}]", "only text content parts are supported")
            parts.append(part["text"])
        return "".join(parts)
    raise _bad(field, "must be a string or a list of text parts")


def _message(raw: Any, i: int) -> Message:
    field = f"messages[{i}]"
    if not isinstance(raw, dict):
        raise _bad(field, "must be an object")
    role = _ROLE_FROM_OPENAI.get(raw.get("role", ""))
    if role is None:
        raise _bad(f"{field}.role", "must be system, developer, user, assistant or tool")
    calls: tuple[ToolCall, ...] = ()
    if raw.get("tool_calls"):
        try:
            calls = _tool_calls_from_message(raw)
        except (KeyError, TypeError) as exc:
            raise _bad(f"{field}.tool_calls", f"malformed tool call ({exc})") from None
    name = raw.get("name") or ""
    return Message(
        role, _content(raw.get("content"), f"{field}.content"), str(name), calls, str(raw.get("tool_call_id") or "")
    )


def _tools(raw: Any) -> tuple[ToolSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad("tools", "must be a list")
    out = []
    for i, tool in enumerate(raw):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise _bad(f"tools[{i}]", 'must be {"type": "function", "function": {"name": ...}}')
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(params, dict):
            raise _bad(f"tools[{i}].function.parameters", "must be a JSON Schema object")
        out.append(ToolSpec(fn["name"], str(fn.get("description") or ""), params))
    return tuple(out)


def _tool_choice(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str) and raw in ("auto", "none", "required"):
        return raw
    if isinstance(raw, dict) and isinstance(raw.get("function"), dict) and isinstance(raw["function"].get("name"), str):
        return str(raw["function"]["name"])
    raise _bad("tool_choice", 'must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}')


def _number(doc: dict[str, Any], field: str, low: float, high: float) -> float | None:
    value = doc.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _bad(field, f"must be a number in [{low:g}, {high:g}]")
    return float(value)


def _int(doc: dict[str, Any], field: str, low: int, high: int) -> int | None:
    value = doc.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(field, f"must be an integer in [{low}, {high}]")
    return value


def chat_request_from_request(doc: Any) -> tuple[ChatRequest, bool, bool]:
    """A chat request from an OpenAI request body.

    Returns:
        (request, stream, include_usage_in_stream). Gateway extensions (sensitivity,
        cache, PII) are applied by the caller.

    Raises:
        InvalidArgumentError: A field is missing or malformed (named in the violation).
    """
    if not isinstance(doc, dict):
        raise _bad("body", "must be a JSON object")
    model = doc.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model", "is required (a model alias; GET /v1/models lists them)")
    messages = doc.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages", "must be a non-empty list")
    if doc.get("n", 1) != 1:
        raise _bad("n", "only n = 1 is supported")
    stop = doc.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)):
        raise _bad("stop", "must be a string or a list of strings")
    max_tokens = _int(doc, "max_completion_tokens", 1, 1 << 30) or _int(doc, "max_tokens", 1, 1 << 30) or 0
    seed = _int(doc, "seed", -(1 << 63), (1 << 63) - 1)
    fmt = doc.get("response_format")
    fmt_type = fmt.get("type") if isinstance(fmt, dict) else None
    if fmt is not None and fmt_type not in ("text", "json_object"):
        raise _bad("response_format", 'type must be "text" or "json_object"')
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _bad("metadata", "must be an object of strings")
    req = ChatRequest(
        model=model,
        messages=[_message(m, i) for i, m in enumerate(messages)],
        temperature=_number(doc, "temperature", 0.0, 2.0),
        top_p=_number(doc, "top_p", 0.0, 1.0),
        max_tokens=max_tokens,
        stop=tuple(stop or ()),
        seed=seed,
        logprobs=bool(doc.get("logprobs")),
        top_logprobs=_int(doc, "top_logprobs", 0, 20) or 0,
        tools=_tools(doc.get("tools")),
        tool_choice=_tool_choice(doc.get("tool_choice")),
        response_format="json_object" if fmt_type == "json_object" else "",
        metadata={str(k): v for k, v in metadata.items()},
    )
    options = doc.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    return req, bool(doc.get("stream")), include_usage


def logprobs_to_openai(logprobs: list[TokenLogprob] | None) -> dict[str, Any] | None:
    """Token logprobs in OpenAI's `logprobs` shape."""
    if logprobs is None:
        return None
    return {
        "content": [
            {
                "token": lp.token,
                "logprob": lp.logprob,
                "bytes": None,
                "top_logprobs": [{"token": t, "logprob": v, "bytes": None} for t, v in lp.top],
            }
            for lp in logprobs
        ],
        "refusal": None,
    }


def embedding_inputs_from_request(doc: Any) -> tuple[str, list[str], bool]:
    """(model, inputs, base64) from an OpenAI embeddings request body.

    Raises:
        InvalidArgumentError: A field is missing or malformed.
    """
    if not isinstance(doc, dict):
        raise _bad("body", "must be a JSON object")
    model = doc.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model", "is required")
    raw = doc.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not inputs or not all(isinstance(s, str) for s in inputs):
        raise _bad("input", "must be a string or a non-empty list of strings (token arrays are not supported)")
    fmt = doc.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise _bad("encoding_format", 'must be "float" or "base64"')
    return model, inputs, fmt == "base64"


def _b64(vector: list[float]) -> str:
    packed = array.array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def embeddings_to_response(model: str, vectors: list[list[float]], input_tokens: int, *, b64: bool) -> bytes:
    """The OpenAI embeddings response body."""
    data = [{"object": "embedding", "index": i, "embedding": _b64(v) if b64 else v} for i, v in enumerate(vectors)]
    doc = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
    }
    return orjson.dumps(doc)

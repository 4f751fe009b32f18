"""The OpenAI Chat Completions and Embeddings JSON shapes, both ways.

Layer: domain (pure translation, no I/O). The HTTP front uses the `*_from_request`
and `*_to_response` functions to speak OpenAI to its callers; the OpenAI adapter
uses `request_body` and `completion_from_response` to speak it to upstreams.
Inbound documents are validated by pydantic models (`ChatCompletionBody`,
`EmbeddingsBody`); every malformed field becomes an `InvalidArgumentError` naming it
(`agentplane.wire_models`).
"""

from __future__ import annotations

import array
import base64
import sys
from typing import Annotated, Any, Literal, NotRequired

import orjson
from pydantic import Field, with_config
from typing_extensions import TypedDict

from agentplane.wire_models import WIRE_CONFIG, parse, wire_type
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

_ROLE_NAMES = "system, developer, user, assistant or tool"
_TOOL_SHAPE = '{"type": "function", "function": {"name": ...}}'
_CHOICE_SHAPE = '"auto", "none", "required" or {"type": "function", "function": {"name": ...}}'
_MAX_TOKENS = 1 << 30
_INT64 = 1 << 63


@with_config(WIRE_CONFIG)
class _TextPart(TypedDict):
    type: Literal["text"]
    text: str


@with_config(WIRE_CONFIG)
class _FunctionCall(TypedDict):
    name: str
    arguments: NotRequired[str | None]


@with_config(WIRE_CONFIG)
class _ToolCallIn(TypedDict):
    id: NotRequired[str]
    function: _FunctionCall


@with_config(WIRE_CONFIG)
class _MessageIn(TypedDict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: NotRequired[str | list[_TextPart] | None]
    name: NotRequired[str | None]
    tool_calls: NotRequired[list[_ToolCallIn] | None]
    tool_call_id: NotRequired[str | None]


@with_config(WIRE_CONFIG)
class _FunctionIn(TypedDict):
    name: str
    description: NotRequired[str | None]
    parameters: NotRequired[dict[str, Any] | None]


@with_config(WIRE_CONFIG)
class _ToolIn(TypedDict):
    function: _FunctionIn


@with_config(WIRE_CONFIG)
class _FunctionName(TypedDict):
    name: str


@with_config(WIRE_CONFIG)
class _ToolChoiceIn(TypedDict):
    function: _FunctionName


@with_config(WIRE_CONFIG)
class _ResponseFormatIn(TypedDict):
    type: Literal["text", "json_object"]


@with_config(WIRE_CONFIG)
class _StreamOptions(TypedDict):
    include_usage: NotRequired[bool | None]


@with_config(WIRE_CONFIG)
class ChatCompletionBody(TypedDict):
    """The fields of an OpenAI chat completion request the gateway reads (others are ignored)."""

    model: Annotated[str, Field(min_length=1)]
    messages: Annotated[list[_MessageIn], Field(min_length=1)]
    n: NotRequired[Literal[1] | None]
    stop: NotRequired[str | list[str] | None]
    max_completion_tokens: NotRequired[Annotated[int, Field(ge=1, le=_MAX_TOKENS)] | None]
    max_tokens: NotRequired[Annotated[int, Field(ge=1, le=_MAX_TOKENS)] | None]
    seed: NotRequired[Annotated[int, Field(ge=-_INT64, lt=_INT64)] | None]
    response_format: NotRequired[_ResponseFormatIn | None]
    metadata: NotRequired[dict[str, str] | None]
    temperature: NotRequired[Annotated[float, Field(ge=0.0, le=2.0)] | None]
    top_p: NotRequired[Annotated[float, Field(ge=0.0, le=1.0)] | None]
    logprobs: NotRequired[bool | None]
    top_logprobs: NotRequired[Annotated[int, Field(ge=0, le=20)] | None]
    tools: NotRequired[list[_ToolIn] | None]
    tool_choice: NotRequired[Literal["auto", "none", "required"] | _ToolChoiceIn | None]
    stream: NotRequired[bool | None]
    stream_options: NotRequired[_StreamOptions | None]


_CHAT_BODY = wire_type(ChatCompletionBody)

# What each field must be, in the words users see (keys: field patterns, see agentplane.wire_models).
_CHAT_PROBLEMS = {
    "model": "is required (a model alias; GET /v1/models lists them)",
    "messages": "must be a non-empty list",
    "messages[]": "must be an object",
    "messages[].role": f"must be {_ROLE_NAMES}",
    "messages[].content": "must be a string or a list of text parts",
    "messages[].content[]": "only text content parts are supported",
    "messages[].name": "must be a string",
    "messages[].tool_calls": "malformed tool call (expected a list of {id, function: {name, arguments}})",
    "messages[].tool_call_id": "must be a string",
    "n": "only n = 1 is supported",
    "stop": "must be a string or a list of strings",
    "max_completion_tokens": f"must be an integer in [1, {_MAX_TOKENS}]",
    "max_tokens": f"must be an integer in [1, {_MAX_TOKENS}]",
    "seed": f"must be an integer in [{-_INT64}, {_INT64 - 1}]",
    "response_format": 'type must be "text" or "json_object"',
    "metadata": "must be an object of strings",
    "temperature": "must be a number in [0, 2]",
    "top_p": "must be a number in [0, 1]",
    "logprobs": "must be a boolean",
    "top_logprobs": "must be an integer in [0, 20]",
    "tools": "must be a list",
    "tools[]": f"must be {_TOOL_SHAPE}",
    "tools[].function.parameters": "must be a JSON Schema object",
    "tool_choice": f"must be {_CHOICE_SHAPE}",
    "stream": "must be a boolean",
    "stream_options": "must be an object with include_usage",
}


def _message(raw: _MessageIn) -> Message:
    content = raw.get("content")
    text = content if isinstance(content, str) else "".join(p["text"] for p in content or ())
    calls = tuple(
        ToolCall(c.get("id", ""), c["function"]["name"], c["function"].get("arguments") or "{}")
        for c in raw.get("tool_calls") or ()
    )
    return Message(_ROLE_FROM_OPENAI[raw["role"]], text, raw.get("name") or "", calls, raw.get("tool_call_id") or "")


def _tool_spec(tool: _ToolIn) -> ToolSpec:
    fn = tool["function"]
    return ToolSpec(
        fn["name"], fn.get("description") or "", fn.get("parameters") or {"type": "object", "properties": {}}
    )


def chat_request_from_request(doc: Any) -> tuple[ChatRequest, bool, bool]:
    """A chat request from an OpenAI request body.

    Returns:
        (request, stream, include_usage_in_stream). Gateway extensions (sensitivity,
        cache, PII) are applied by the caller.

    Raises:
        InvalidArgumentError: A field is missing or malformed (named in the violation).
    """
    body = parse(_CHAT_BODY, doc, _CHAT_PROBLEMS)
    stop = body.get("stop")
    choice = body.get("tool_choice")
    fmt = body.get("response_format")
    options = body.get("stream_options")
    req = ChatRequest(
        model=body["model"],
        messages=[_message(m) for m in body["messages"]],
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens") or 0,
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        seed=body.get("seed"),
        logprobs=bool(body.get("logprobs")),
        top_logprobs=body.get("top_logprobs") or 0,
        tools=tuple(_tool_spec(t) for t in body.get("tools") or ()),
        tool_choice=choice["function"]["name"] if isinstance(choice, dict) else choice or "",
        response_format="json_object" if fmt and fmt["type"] == "json_object" else "",
        metadata=dict(body.get("metadata") or {}),
    )
    include_usage = bool(options and options.get("include_usage"))
    return req, bool(body.get("stream")), include_usage


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


@with_config(WIRE_CONFIG)
class EmbeddingsBody(TypedDict):
    """The fields of an OpenAI embeddings request the gateway reads."""

    model: Annotated[str, Field(min_length=1)]
    input: Annotated[str | list[str], Field(min_length=1)]
    encoding_format: NotRequired[Literal["float", "base64"] | None]


_EMBEDDINGS_BODY = wire_type(EmbeddingsBody)
_EMBEDDING_PROBLEMS = {
    "model": "is required",
    "input": "must be a string or a non-empty list of strings (token arrays are not supported)",
    "encoding_format": 'must be "float" or "base64"',
}


def embedding_inputs_from_request(doc: Any) -> tuple[str, list[str], bool]:
    """(model, inputs, base64) from an OpenAI embeddings request body.

    Raises:
        InvalidArgumentError: A field is missing or malformed.
    """
    body = parse(_EMBEDDINGS_BODY, doc, _EMBEDDING_PROBLEMS)
    raw = body["input"]
    inputs = [raw] if isinstance(raw, str) else list(raw)
    return body["model"], inputs, body.get("encoding_format") == "base64"


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

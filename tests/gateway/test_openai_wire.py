"""OpenAI JSON shapes: parsing what callers send, building what upstreams get."""

from __future__ import annotations

import base64
import struct

import pytest

from agentplane.errors import InvalidArgumentError
from gateway.models import ChatRequest, Message, ToolCall
from gateway.openai_wire import (
    chat_request_from_request,
    completion_from_response,
    embedding_inputs_from_request,
    embeddings_to_response,
    request_body,
)


def test_parses_a_full_request() -> None:
    req, stream, usage = chat_request_from_request(
        {
            "model": "general",
            "messages": [
                {"role": "developer", "content": "rules"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
            "max_completion_tokens": 9,
            "stop": "END",
            "seed": 3,
            "response_format": {"type": "json_object"},
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool"]
    assert req.messages[1].content == "ab" and req.messages[2].tool_calls == (ToolCall("c1", "f", "{}"),)
    assert (req.max_tokens, req.stop, req.seed, req.response_format) == (9, ("END",), 3, "json_object")
    assert stream and usage


_OK = [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"messages": _OK}, "model: is required (a model alias; GET /v1/models lists them)"),
        ({"model": "m", "messages": []}, "messages: must be a non-empty list"),
        ({"model": "m", "messages": ["x"]}, "messages[0]: must be an object"),
        (
            {"model": "m", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role: must be system, developer, user, assistant or tool",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0]: only text content parts are supported",
        ),
        ({"model": "m", "messages": _OK, "temperature": 3}, "temperature: must be a number in [0, 2]"),
        ({"model": "m", "messages": _OK, "temperature": True}, "temperature: must be a number in [0, 2]"),
        ({"model": "m", "messages": _OK, "n": 2}, "n: only n = 1 is supported"),
        ({"model": "m", "messages": _OK, "max_tokens": "many"}, "max_tokens: must be an integer in [1, 1073741824]"),
        ({"model": "m", "messages": _OK, "stop": [1]}, "stop: must be a string or a list of strings"),
        ({"model": "m", "messages": _OK, "metadata": {"k": 1}}, "metadata: must be an object of strings"),
        (
            {"model": "m", "messages": _OK, "tools": [{"type": "function"}]},
            'tools[0]: must be {"type": "function", "function": {"name": ...}}',
        ),
        (
            {"model": "m", "messages": _OK, "tool_choice": "sometimes"},
            'tool_choice: must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}',
        ),
        (
            {"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}]},
            "messages[0].tool_calls: malformed tool call (expected a list of {id, function: {name, arguments}})",
        ),
        ([1, 2], "body: must be a JSON object"),
    ],
)
def test_rejects_malformed_fields_with_clear_messages(doc: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        chat_request_from_request(doc)
    assert err.value.message == message
    assert err.value.violations[0].field == message.split(":", maxsplit=1)[0]


def test_request_body_sends_top_logprobs_with_logprobs() -> None:
    req = ChatRequest(model="m", messages=[Message("user", "x")], logprobs=True, max_tokens=5)
    body = request_body("real", req, stream=True, logprobs=True, max_tokens_field="max_completion_tokens")
    assert body["top_logprobs"] == 0 and body["max_completion_tokens"] == 5
    assert body["stream_options"] == {"include_usage": True}
    assert "logprobs" not in request_body("real", req, stream=False, logprobs=False)


def test_completion_without_usage_is_marked() -> None:
    c = completion_from_response({"choices": [{"message": {"content": "hi"}, "finish_reason": None}]})
    assert c.content == "hi" and c.finish_reason == "stop" and not c.usage_reported


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"input": "x"}, "model: is required"),
        (
            {"model": "e", "input": [[1, 2]]},
            "input: must be a string or a non-empty list of strings (token arrays are not supported)",
        ),
        ({"model": "e", "input": "x", "encoding_format": "int8"}, 'encoding_format: must be "float" or "base64"'),
    ],
)
def test_embedding_requests_are_refused_with_clear_messages(doc: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        embedding_inputs_from_request(doc)
    assert err.value.message == message


def test_embeddings_base64_is_little_endian_float32() -> None:
    model, inputs, b64 = embedding_inputs_from_request({"model": "e", "input": "x", "encoding_format": "base64"})
    assert (model, inputs, b64) == ("e", ["x"], True)
    import json

    doc = json.loads(embeddings_to_response("e", [[1.0, -2.5]], 1, b64=True))
    assert struct.unpack("<2f", base64.b64decode(doc["data"][0]["embedding"])) == (1.0, -2.5)

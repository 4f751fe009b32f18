"""Translation into the Anthropic Messages API and back."""

from __future__ import annotations

import json

from gateway.adapters.anthropic_provider import completion_from_message, messages_body
from gateway.models import ChatRequest, Message, ToolCall, ToolSpec


def test_messages_body_moves_system_merges_turns_and_maps_tools() -> None:
    req = ChatRequest(
        model="claude",
        messages=[
            Message("system", "Be brief."),
            Message("user", "weather?"),
            Message("assistant", "", tool_calls=(ToolCall("t1", "lookup", '{"city": "Paris"}'),)),
            Message("tool", "sunny", tool_call_id="t1"),
            Message("user", "thanks"),
        ],
        temperature=1.5,
        max_tokens=50,
        stop=("END",),
        tools=(ToolSpec("lookup", "look up", {"type": "object"}),),
        tool_choice="required",
    )
    body = messages_body("claude-x", req, stream=True)
    assert body["system"] == "Be brief."
    assert [t["role"] for t in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"city": "Paris"}}
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
        {"type": "text", "text": "thanks"},
    ]
    assert body["temperature"] == 1.0, "the Messages API accepts 0..1"
    assert body["stop_sequences"] == ["END"] and body["max_tokens"] == 50 and body["stream"] is True
    assert body["tools"] == [{"name": "lookup", "description": "look up", "input_schema": {"type": "object"}}]
    assert body["tool_choice"] == {"type": "any"}


def test_completion_from_message() -> None:
    doc = {
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "t9", "name": "lookup", "input": {"q": 1}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7},
    }
    c = completion_from_message(doc)
    assert c.content == "Let me check." and c.finish_reason == "tool_calls"
    assert c.tool_calls[0].name == "lookup" and json.loads(c.tool_calls[0].arguments_json) == {"q": 1}
    assert (c.input_tokens, c.output_tokens, c.logprobs) == (15, 7, None)

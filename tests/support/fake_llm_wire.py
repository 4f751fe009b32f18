"""Wire documents of the fake LLM provider: OpenAI and Anthropic answers, SSE frames, faults.

Test support (no server here): `tests/support/fake_llm.py` serves these. Answers are
deterministic ("Echo: <last user message>", one token per word), logprobs follow a
fixed pattern, embeddings are 8-dimensional unit vectors hashed from the text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Fault",
    "RecordedRequest",
    "anthropic_message",
    "anthropic_stream_frames",
    "echo_answer",
    "embedding_vector",
    "openai_completion",
    "openai_stream_frames",
    "prompt_tokens",
    "split_tokens",
    "tool_call",
]


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour. Build with the class methods."""

    kind: str
    status: int = 0
    retry_after: str | None = None
    delay_s: float = 0.0
    after_chunks: int = 0
    path: str | None = None
    model: str | None = None

    @classmethod
    def error(cls, status: int, retry_after: float | str | None = None, **match: Any) -> Fault:
        """Answer `status` with the provider's error body (and Retry-After when given)."""
        return cls("status", status=status, retry_after=None if retry_after is None else str(retry_after), **match)

    @classmethod
    def slow(cls, delay_s: float, **match: Any) -> Fault:
        """Answer normally after `delay_s`."""
        return cls("slow", delay_s=delay_s, **match)

    @classmethod
    def hang(cls, **match: Any) -> Fault:
        """Wait until `FakeLLM.release()` (or the client gives up), then answer."""
        return cls("hang", **match)

    @classmethod
    def drop(cls, after_chunks: int = 0, **match: Any) -> Fault:
        """Close the connection abruptly: before any answer, or after `after_chunks` stream chunks."""
        return cls("drop", after_chunks=after_chunks, **match)

    @classmethod
    def truncate(cls, after_chunks: int, **match: Any) -> Fault:
        """End a stream cleanly after `after_chunks` chunks but without a finish reason (llama.cpp interrupts)."""
        return cls("truncate", after_chunks=after_chunks, **match)

    @classmethod
    def garbage(cls, **match: Any) -> Fault:
        """Answer 200 with a body that is not JSON."""
        return cls("garbage", **match)

    def matches(self, path: str, model: str) -> bool:
        """Whether this fault applies to a request."""
        return (self.path is None or self.path == path) and (self.model is None or self.model == model)


@dataclass
class RecordedRequest:
    """A request the fake received."""

    path: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]

    def texts(self) -> list[str]:
        """Every text the request carried (messages, system, tool arguments, inputs)."""
        out: list[str] = []
        system = self.body.get("system")
        if isinstance(system, str):
            out.append(system)
        for msg in self.body.get("messages") or ():
            content = msg.get("content")
            if isinstance(content, str):
                out.append(content)
            elif isinstance(content, list):
                for block in content:
                    for key in ("text", "content"):
                        if isinstance(block.get(key), str):
                            out.append(block[key])
                    if "input" in block:
                        out.append(json.dumps(block["input"]))
            for call in msg.get("tool_calls") or ():
                out.append(call["function"]["arguments"])
        inputs = self.body.get("input")
        out += [inputs] if isinstance(inputs, str) else list(inputs or ())
        return out


def _last_user_text(body: dict[str, Any]) -> str:
    for msg in reversed(body.get("messages") or ()):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(b.get("text", "") for b in content if b.get("type") == "text")
    return ""


def echo_answer(body: dict[str, Any]) -> str:
    """The default answer: "Echo: " and the last user message."""
    return f"Echo: {_last_user_text(body)}"


def split_tokens(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words) if w or i == 0]


def prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    for msg in body.get("messages") or ():
        content = msg.get("content")
        total += len(str(content).split()) + 3 if content else 3
    system = body.get("system")
    return total + (len(system.split()) if isinstance(system, str) else 0)


def _logprob(i: int) -> float:
    return -0.05 - 0.1 * (i % 5)


def _logprob_entries(tokens: list[str], start: int, top_n: int) -> list[dict[str, Any]]:
    out = []
    for i, token in enumerate(tokens, start):
        lp = _logprob(i)
        top = [{"token": token, "logprob": lp, "bytes": None}]
        top += [{"token": f"alt{k}", "logprob": lp - k, "bytes": None} for k in range(1, top_n)]
        out.append({"token": token, "logprob": lp, "bytes": None, "top_logprobs": top[: max(top_n, 1)]})
    return out


def embedding_vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(b - 127.5) / 127.5 for b in digest[:8]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


_DIRECTIVE = re.compile(r"\[\[call:([A-Za-z0-9_-]+)\s*(\{.*?\})?\]\]", re.S)


def _agentic_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """Behave like an agent: the user text's `[[call:<tool> {json args}]]` directive, once per conversation."""
    if any(m.get("role") == "tool" for m in body.get("messages") or ()):
        return None
    match = _DIRECTIVE.search(_last_user_text(body))
    offered = {t["function"]["name"] for t in body.get("tools") or ()}
    if match is None or match.group(1) not in offered:
        return None
    args = match.group(2) or "{}"
    return {"id": "call_fake_agent", "type": "function", "function": {"name": match.group(1), "arguments": args}}


def tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool call to answer with: when tool_choice is "required" or names a tool, or (with
    tool_choice "auto" or absent) when the user text carries a `[[call:tool {args}]]` directive."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if choice in (None, "auto"):
        return _agentic_call(body)
    name = choice["function"]["name"] if isinstance(choice, dict) else tools[0]["function"]["name"]
    args = json.dumps({"echo": _last_user_text(body)})
    return {"id": "call_fake_1", "type": "function", "function": {"name": name, "arguments": args}}


def _openai_usage(body: dict[str, Any], tokens: list[str]) -> dict[str, int]:
    usage = {"prompt_tokens": prompt_tokens(body), "completion_tokens": len(tokens)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


def openai_completion(ident: str, body: dict[str, Any], tokens: list[str], finish: str) -> bytes:
    """A chat.completion document."""
    call = tool_call(body)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
    if call is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    top_n = int(body.get("top_logprobs") or 0)
    logprobs = {"content": _logprob_entries(tokens, 0, top_n)} if body.get("logprobs") else None
    doc = {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "logprobs": logprobs, "finish_reason": finish}],
        "usage": _openai_usage(body, tokens),
    }
    return json.dumps(doc).encode()


def openai_stream_frames(
    ident: str, body: dict[str, Any], tokens: list[str], finish: str, *, stream_usage: bool
) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(head, one frame per token, tail) of a chat.completion.chunk stream, tail ending with [DONE]."""
    base = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()), "model": body.get("model")}

    def frame(delta: dict[str, Any], fin: str | None = None, lp: Any = None) -> bytes:
        doc = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": fin}]}
        return b"data: " + json.dumps(doc).encode() + b"\n\n"

    top_n = int(body.get("top_logprobs") or 0)
    want_lp = bool(body.get("logprobs"))
    middle = [
        frame({"content": t}, None, {"content": _logprob_entries([t], i, top_n)} if want_lp else None)
        for i, t in enumerate(tokens)
    ]
    tail = []
    call = tool_call(body)
    if call is not None:
        tail.append(frame({"tool_calls": [{"index": 0, **call}]}))
        finish = "tool_calls"
    tail.append(frame({}, finish))
    if stream_usage and (body.get("stream_options") or {}).get("include_usage"):
        usage_doc: dict[str, Any] = {**base, "choices": [], "usage": _openai_usage(body, tokens)}
        tail.append(b"data: " + json.dumps(usage_doc).encode() + b"\n\n")
    tail.append(b"data: [DONE]\n\n")
    return [frame({"role": "assistant", "content": ""})], middle, tail


def _stop_reason(finish: str) -> str:
    return "max_tokens" if finish == "length" else "end_turn"


def anthropic_message(ident: str, body: dict[str, Any], tokens: list[str], finish: str) -> bytes:
    """A Messages API `message` document."""
    doc = {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": [{"type": "text", "text": "".join(tokens)}],
        "stop_reason": _stop_reason(finish),
        "stop_sequence": None,
        "usage": {"input_tokens": prompt_tokens(body), "output_tokens": len(tokens)},
    }
    return json.dumps(doc).encode()


def anthropic_stream_frames(
    ident: str, body: dict[str, Any], tokens: list[str], finish: str
) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(head, one event per token, tail) of a Messages API stream, tail ending with message_stop."""

    def event(name: str, doc: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps({'type': name, **doc})}\n\n".encode()

    message: dict[str, Any] = {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": prompt_tokens(body), "output_tokens": 1},
    }
    head = [
        event("message_start", {"message": message}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {}),
    ]
    middle = [event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": t}}) for t in tokens]
    delta = {
        "delta": {"stop_reason": _stop_reason(finish), "stop_sequence": None},
        "usage": {"output_tokens": len(tokens)},
    }
    tail = [event("content_block_stop", {"index": 0}), event("message_delta", delta), event("message_stop", {})]
    return head, middle, tail

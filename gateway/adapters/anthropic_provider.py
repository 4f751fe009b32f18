"""The Anthropic Messages API (`POST {base_url}/messages`, SSE streaming).

Layer: adapters (outbound I/O). Translates chat requests into Messages requests
(system messages go to `system`, tool calls and results become `tool_use` and
`tool_result` blocks, consecutive same-role messages are merged because the API
requires alternation) and answers back. The API has no logprobs and no seed:
answers from Anthropic deployments carry no logprobs. A stream must end with
`message_stop` after a `stop_reason`; anything else is an incomplete answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import aiohttp

from gateway.adapters.transport import PooledSession, json_body, sse_lines, upstream_error
from gateway.catalogue import Deployment
from gateway.config import ProviderPoolSettings
from gateway.models import ChatRequest, Completion, Embeddings, Message, StreamDelta, StreamEnd, ToolCall
from gateway.upstream import FailureKind, UpstreamError

__all__ = ["ANTHROPIC_VERSION", "AnthropicProvider"]

ANTHROPIC_VERSION = "2023-06-01"
_DEFAULT_MAX_TOKENS = 1024
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _blocks(msg: Message) -> list[dict[str, Any]]:
    if msg.role == "tool":
        return [{"type": "tool_result", "tool_use_id": msg.tool_call_id, "content": msg.content}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": msg.content}] if msg.content else []
    for call in msg.tool_calls:
        try:
            args = json.loads(call.arguments_json or "{}")
        except ValueError:
            args = {"arguments": call.arguments_json}
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": args})
    return blocks


def _tool_choice(choice: str) -> dict[str, Any]:
    if choice == "required":
        return {"type": "any"}
    if choice in ("auto", "none"):
        return {"type": choice}
    return {"type": "tool", "name": choice}


def messages_body(model: str, req: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The Messages API request body of a chat request."""
    system = "\n\n".join(m.content for m in req.messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    for msg in req.messages:
        if msg.role == "system":
            continue
        role = "assistant" if msg.role == "assistant" else "user"
        blocks = _blocks(msg)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    body: dict[str, Any] = {"model": model, "max_tokens": req.max_tokens or _DEFAULT_MAX_TOKENS, "messages": turns}
    if system:
        body["system"] = system
    if req.temperature is not None:
        body["temperature"] = min(req.temperature, 1.0)  # the Messages API accepts 0..1
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in req.tools
        ]
        if req.tool_choice:
            body["tool_choice"] = _tool_choice(req.tool_choice)
    if stream:
        body["stream"] = True
    return body


def _input_tokens(usage: dict[str, Any]) -> int:
    return sum(
        int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def completion_from_message(doc: dict[str, Any]) -> Completion:
    """A completion from a Messages API `message` document.

    Raises:
        KeyError, TypeError: Not a message (the adapter maps these).
    """
    text = []
    calls = []
    for block in doc["content"]:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(ToolCall(str(block["id"]), str(block["name"]), json.dumps(block.get("input") or {})))
    usage = doc.get("usage") or {}
    return Completion(
        content="".join(text),
        finish_reason=_FINISH.get(doc.get("stop_reason") or "end_turn", "stop"),
        tool_calls=tuple(calls),
        logprobs=None,
        input_tokens=_input_tokens(usage),
        output_tokens=int(usage.get("output_tokens") or 0),
        usage_reported=bool(usage),
    )


class _StreamState:
    __slots__ = ("blocks", "finish", "input_tokens", "output_tokens", "stopped")

    def __init__(self) -> None:
        self.blocks: dict[int, list[str]] = {}
        self.finish: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.stopped = False

    def feed(self, doc: dict[str, Any]) -> StreamDelta | None:
        kind = doc.get("type")
        if kind == "content_block_delta":
            delta = doc.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return StreamDelta(str(delta["text"]))
            if delta.get("type") == "input_json_delta":
                self.blocks.setdefault(int(doc.get("index", 0)), ["", "", ""])[2] += delta.get("partial_json") or ""
        elif kind == "content_block_start":
            block = doc.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.blocks[int(doc.get("index", 0))] = [str(block.get("id", "")), str(block.get("name", "")), ""]
        elif kind == "message_start":
            usage = (doc.get("message") or {}).get("usage") or {}
            self.input_tokens = _input_tokens(usage)
            self.output_tokens = int(usage.get("output_tokens") or 0)
        elif kind == "message_delta":
            reason = (doc.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish = _FINISH.get(reason, "stop")
            usage = doc.get("usage") or {}
            self.output_tokens = int(usage.get("output_tokens") or self.output_tokens)
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "error":
            err = doc.get("error") or {}
            failure = FailureKind.RATE_LIMITED if err.get("type") == "rate_limit_error" else FailureKind.SERVER_ERROR
            raise UpstreamError(failure, f"error event in stream: {err.get('type')}: {err.get('message')}")
        return None

    def end(self) -> StreamEnd:
        calls = tuple(ToolCall(i, name, args or "{}") for _, (i, name, args) in sorted(self.blocks.items()))
        return StreamEnd(self.finish or "stop", calls, self.input_tokens, self.output_tokens, usage_reported=True)


class AnthropicProvider:
    """The Anthropic Messages adapter.

    Args:
        settings: Pool sizes and limits of its session.
        trace_configs: aiohttp trace configs of its session (tracing: a span per upstream request).
    """

    def __init__(self, settings: ProviderPoolSettings, trace_configs: Sequence[aiohttp.TraceConfig] = ()) -> None:
        self._settings = settings
        self._pool = PooledSession(settings, trace_configs)

    async def aclose(self) -> None:
        """Close the pooled session."""
        await self._pool.aclose()

    @staticmethod
    def _headers(dep: Deployment, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if dep.api_key:
            headers["x-api-key"] = dep.api_key
        headers.update(dep.extra_headers)
        return headers

    async def complete(self, deployment: Deployment, request: ChatRequest, timeout_s: float) -> Completion:
        """One non-streaming answer.

        Raises:
            UpstreamError: Any failure, classified.
        """
        body = json.dumps(messages_body(deployment.model, request, stream=False), ensure_ascii=False).encode()
        try:
            async with self._pool.session.post(
                f"{deployment.base_url}/messages",
                data=body,
                headers=self._headers(deployment, False),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                doc = await json_body(resp, self._settings.max_response_bytes)
            return completion_from_message(doc)
        except UpstreamError:
            raise
        except Exception as exc:
            raise upstream_error(exc, deployment.name) from exc

    async def stream(
        self, deployment: Deployment, request: ChatRequest, timeout_s: float
    ) -> AsyncGenerator[StreamDelta | StreamEnd, None]:
        """Stream an answer: text deltas, then one StreamEnd.

        Raises:
            UpstreamError: Any failure, including a stream without message_stop.
        """
        body = json.dumps(messages_body(deployment.model, request, stream=True), ensure_ascii=False).encode()
        state = _StreamState()
        try:
            async with self._pool.session.post(
                f"{deployment.base_url}/messages",
                data=body,
                headers=self._headers(deployment, True),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._settings.connect_timeout_s),
            ) as resp:
                async for line in sse_lines(resp, deployment.stream_idle_timeout_s):
                    if not line.startswith(b"data:"):
                        continue  # "event:" names repeat the data's "type"
                    piece = state.feed(json.loads(line[5:]))
                    if piece is not None:
                        yield piece
                    if state.stopped:
                        break
        except UpstreamError:
            raise
        except Exception as exc:
            raise upstream_error(exc, deployment.name) from exc
        if not state.stopped or state.finish is None:
            raise UpstreamError(
                FailureKind.CONNECTION, f"{deployment.name}: stream ended before message_stop (incomplete answer)"
            )
        yield state.end()

    async def embed(self, deployment: Deployment, inputs: list[str], timeout_s: float) -> Embeddings:
        """Not offered by the Messages API.

        Raises:
            UpstreamError: Always (MISCONFIGURED).
        """
        raise UpstreamError(FailureKind.MISCONFIGURED, f"{deployment.name}: Anthropic offers no embeddings")

"""OpenAI-compatible Chat Completions and Embeddings (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp, TGI).

Layer: adapters (outbound I/O). One pooled aiohttp session serves every
OpenAI-compatible deployment. Streams are read as server-sent events; a stream
that ends before a `finish_reason` (a dropped connection, or llama.cpp's
interrupted streams, which end with `[DONE]` and no finish reason) raises an
`UpstreamError` instead of looking complete. Usage comes from the provider when
it reports it (`stream_options.include_usage`), else it is estimated.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import aiohttp
import orjson
from yarl import URL

from gateway.adapters.transport import PooledSession, json_body, sse_lines, upstream_error
from gateway.catalogue import Deployment
from gateway.config import ProviderPoolSettings
from gateway.models import ChatRequest, Completion, Embeddings, StreamDelta, StreamEnd, ToolCall
from gateway.openai_wire import FINISH_FROM_OPENAI, completion_from_response, logprobs_from_openai, request_body
from gateway.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.upstream import FailureKind, UpstreamError

__all__ = ["OpenAIProvider"]

_JSON = "application/json"


class _StreamState:
    """Accumulates what a stream spreads over chunks: tool-call fragments, finish reason, usage."""

    __slots__ = ("calls", "finish", "input_tokens", "output_tokens", "pieces", "usage_reported")

    def __init__(self) -> None:
        self.calls: dict[int, list[str]] = {}
        self.finish: str | None = None
        self.usage_reported = False
        self.input_tokens = 0
        self.output_tokens = 0
        self.pieces = 0

    def feed(self, doc: dict[str, Any]) -> StreamDelta | None:
        err = doc.get("error")
        if err:
            message = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            raise UpstreamError(FailureKind.SERVER_ERROR, f"error event in stream: {message}")
        usage = doc.get("usage")
        if isinstance(usage, dict):
            self.usage_reported = True
            self.input_tokens = int(usage.get("prompt_tokens") or 0)
            self.output_tokens = int(usage.get("completion_tokens") or 0)
        choices = doc.get("choices")
        if not choices:
            return None
        choice = choices[0]
        delta = choice.get("delta") or {}
        for call in delta.get("tool_calls") or ():
            slot = self.calls.setdefault(int(call.get("index", 0)), ["", "", ""])
            fn = call.get("function") or {}
            slot[0] = call.get("id") or slot[0]
            slot[1] = fn.get("name") or slot[1]
            slot[2] += fn.get("arguments") or ""
        finish = choice.get("finish_reason")
        if finish:
            self.finish = FINISH_FROM_OPENAI.get(finish, "stop")
        text = delta.get("content") or ""
        logprobs = logprobs_from_openai(choice.get("logprobs"))
        if text or logprobs:
            self.pieces += 1
            return StreamDelta(text, logprobs)
        return None

    def end(self, request: ChatRequest) -> StreamEnd:
        calls = tuple(
            ToolCall(i or f"call_{n}", name, args or "{}") for n, (i, name, args) in sorted(self.calls.items())
        )
        if not self.usage_reported:
            self.input_tokens = estimate_prompt_tokens(request.messages)
            self.output_tokens = self.pieces
        return StreamEnd(
            self.finish or "stop", calls, self.input_tokens, self.output_tokens, usage_reported=self.usage_reported
        )


class OpenAIProvider:
    """The OpenAI-compatible adapter.

    Args:
        settings: Pool sizes and limits of its session.
        trace_configs: aiohttp trace configs of its session (tracing: a span per upstream request).
    """

    def __init__(self, settings: ProviderPoolSettings, trace_configs: Sequence[aiohttp.TraceConfig] = ()) -> None:
        self._settings = settings
        self._pool = PooledSession(settings, trace_configs)
        self._headers: dict[str, dict[str, str]] = {}
        self._urls: dict[tuple[str, str], URL] = {}

    async def aclose(self) -> None:
        """Close the pooled session."""
        await self._pool.aclose()

    def _url(self, dep: Deployment, path: str) -> URL:
        url = self._urls.get((dep.name, path))
        if url is None:  # parsed once per deployment, not per request
            if dep.provider == "azure_openai":
                version = f"?api-version={dep.api_version}" if dep.api_version else ""
                url = URL(f"{dep.base_url}/openai/deployments/{dep.model}/{path}{version}")
            else:
                url = URL(f"{dep.base_url}/{path}")
            self._urls[(dep.name, path)] = url
        return url

    def _headers_for(self, dep: Deployment) -> dict[str, str]:
        headers = self._headers.get(dep.name)
        if headers is None:
            headers = {"Content-Type": _JSON, "Accept": _JSON}
            if dep.api_key:
                if dep.provider == "azure_openai":
                    headers["api-key"] = dep.api_key
                else:
                    headers["Authorization"] = f"Bearer {dep.api_key}"
            headers.update(dep.extra_headers)
            self._headers[dep.name] = headers
        return headers

    def _body(self, dep: Deployment, request: ChatRequest, stream: bool) -> bytes:
        body = request_body(
            dep.model,
            request,
            stream=stream,
            logprobs=dep.supports_logprobs,
            max_tokens_field=dep.max_tokens_field,
            stream_usage=dep.stream_usage,
        )
        return orjson.dumps(body)

    async def complete(self, deployment: Deployment, request: ChatRequest, timeout_s: float) -> Completion:
        """One non-streaming chat completion.

        Raises:
            UpstreamError: Any failure, classified.
        """
        try:
            async with self._pool.session.post(
                self._url(deployment, "chat/completions"),
                data=self._body(deployment, request, False),
                headers=self._headers_for(deployment),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                doc = await json_body(resp, self._settings.max_response_bytes)
            completion = completion_from_response(doc)
        except UpstreamError:
            raise
        except Exception as exc:
            raise upstream_error(exc, deployment.name) from exc
        if not completion.usage_reported:
            completion.input_tokens = estimate_prompt_tokens(request.messages)
            completion.output_tokens = estimate_tokens(completion.content)
        return completion

    async def stream(
        self, deployment: Deployment, request: ChatRequest, timeout_s: float
    ) -> AsyncGenerator[StreamDelta | StreamEnd, None]:
        """Stream a chat completion: deltas, then one StreamEnd.

        Raises:
            UpstreamError: Any failure, including a stream that ends without a finish reason.
        """
        state = _StreamState()
        done = False
        try:
            async with self._pool.session.post(
                self._url(deployment, "chat/completions"),
                data=self._body(deployment, request, True),
                headers={**self._headers_for(deployment), "Accept": "text/event-stream"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._settings.connect_timeout_s),
            ) as resp:
                async for line in sse_lines(resp, deployment.stream_idle_timeout_s):
                    if not line.startswith(b"data:"):
                        continue  # comments, event names, retry hints
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        break
                    piece = state.feed(orjson.loads(data))
                    if piece is not None:
                        yield piece
        except UpstreamError:
            raise
        except Exception as exc:
            raise upstream_error(exc, deployment.name) from exc
        if state.finish is None:
            why = "ended with [DONE] but no finish_reason" if done else "ended before a finish_reason"
            raise UpstreamError(FailureKind.CONNECTION, f"{deployment.name}: stream {why} (incomplete answer)")
        yield state.end(request)

    async def embed(self, deployment: Deployment, inputs: list[str], timeout_s: float) -> Embeddings:
        """Embeddings, one vector per input (per-token vectors are mean-pooled).

        Raises:
            UpstreamError: Any failure, classified.
        """
        body = json.dumps({"model": deployment.model, "input": inputs}, ensure_ascii=False).encode()
        try:
            async with self._pool.session.post(
                self._url(deployment, "embeddings"),
                data=body,
                headers=self._headers_for(deployment),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                doc = await json_body(resp, self._settings.max_response_bytes)
            rows = sorted(doc["data"], key=lambda r: int(r.get("index", 0)))
            vectors = [_pooled(r["embedding"]) for r in rows]
            usage = doc.get("usage") or {}
            tokens = int(usage.get("prompt_tokens") or 0) or sum(estimate_tokens(t) for t in inputs)
        except UpstreamError:
            raise
        except Exception as exc:
            raise upstream_error(exc, deployment.name) from exc
        if len(vectors) != len(inputs):
            raise UpstreamError(FailureKind.PROTOCOL, f"{len(vectors)} vectors for {len(inputs)} inputs")
        return Embeddings(vectors, tokens)


def _pooled(raw: Any) -> list[float]:
    if raw and isinstance(raw[0], list):  # llama.cpp without a pooling type: one vector per token
        width = len(raw[0])
        return [sum(row[i] for row in raw) / len(raw) for i in range(width)]
    return [float(x) for x in raw]

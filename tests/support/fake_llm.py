"""A fake LLM provider speaking the real OpenAI and Anthropic wire formats, for tests and load tests.

Routes (base URL `http://127.0.0.1:<port>/v1`):

- `POST /v1/chat/completions` (and Azure's `/openai/deployments/{name}/chat/completions`):
  OpenAI Chat Completions, JSON or SSE (`stream: true`, usage chunk on
  `stream_options.include_usage` unless `stream_usage=False`), logprobs on request,
  a tool call when `tool_choice` is "required" or names a tool;
- `POST /v1/embeddings`: OpenAI embeddings (deterministic 8-dimensional vectors);
- `GET /v1/models`;
- `POST /v1/messages`: Anthropic Messages, JSON or SSE (message_start ... message_stop).

Answers are deterministic: "Echo: <last user message>", one token per word, cut at
`max_tokens` (finish "length"). Scripted faults (`script`, `fail_always`) return 429
with Retry-After, 500, slow answers, hangs until `release()`, garbage, or drop the
connection before or in the middle of a stream. Every request is recorded
(`requests`, `count(path=..., model=...)`, `received_text()`), and `wait_for_requests`
lets a test wait for arrivals without sleeping.

Run standalone (load tests, benchmarks): `python -m tests.support.fake_llm --port 0`
prints `{"port": N}` and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.support.fake_llm_wire import (
    Fault,
    RecordedRequest,
    anthropic_message,
    anthropic_stream_frames,
    echo_answer,
    embedding_vector,
    openai_completion,
    openai_stream_frames,
    split_tokens,
)

__all__ = ["FakeLLM", "Fault", "RecordedRequest", "echo_answer"]

OPENAI_CHAT = "/v1/chat/completions"
ANTHROPIC_MESSAGES = "/v1/messages"
EMBEDDINGS = "/v1/embeddings"


class FakeLLM:
    """The fake provider server.

    Args:
        latency_s: Added before every answer.
        token_delay_s: Between stream chunks.
        answer: Answer text from the request body (default `echo_answer`).
        api_key: When set, requests must carry it (Bearer or x-api-key), else 401.
        stream_usage: Send OpenAI's usage chunk when asked (False: behave like llama.cpp).
        host, port: Where to listen (127.0.0.1, 0 = any free port).
    """

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        token_delay_s: float = 0.0,
        answer: Callable[[dict[str, Any]], str] = echo_answer,
        api_key: str | None = None,
        stream_usage: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.latency_s = latency_s
        self.token_delay_s = token_delay_s
        self.answer = answer
        self.api_key = api_key
        self.stream_usage = stream_usage
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.record = True
        """Keep every request in `requests` (standalone serving turns this off)."""
        self._seq = 0
        self._hung: list[asyncio.Future[None]] = []
        self._faults: collections.deque[Fault] = collections.deque()
        self._always: Fault | None = None
        self._gate = asyncio.Event()
        self._gate.set()
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(OPENAI_CHAT, self._openai_chat)
        app.router.add_post("/openai/deployments/{name}/chat/completions", self._openai_chat)
        app.router.add_post(EMBEDDINGS, self._embeddings)
        app.router.add_post("/openai/deployments/{name}/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post(ANTHROPIC_MESSAGES, self._anthropic)
        return app

    async def start(self) -> int:
        """Serve on host:port; return the bound port."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    async def aclose(self) -> None:
        """Stop serving (hung requests are released first)."""
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLM:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        """API root for both wire formats: http://127.0.0.1:<port>/v1."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def root_url(self) -> str:
        """Server root (Azure-style deployments)."""
        return f"http://{self.host}:{self.port}"

    # --- scripting and observation ---------------------------------------------------

    def script(self, *faults: Fault) -> None:
        """Queue faults; each matching request consumes the first matching one."""
        self._faults.extend(faults)

    def fail_always(self, fault: Fault | None) -> None:
        """Apply `fault` to every request (None: back to normal)."""
        self._always = fault

    def hold(self) -> None:
        """Make requests wait (after being recorded) until `release()`."""
        self._gate.clear()

    def release(self) -> None:
        """Let held and hung requests proceed."""
        self._gate.set()
        for hung in self._hung:
            if not hung.done():
                hung.set_result(None)
        self._hung.clear()

    def reset(self) -> None:
        """Forget recorded requests, faults and holds."""
        self.requests.clear()
        self.counts.clear()
        self._faults.clear()
        self._always = None
        self._gate.set()

    def count(self, path: str | None = None, model: str | None = None) -> int:
        """Requests received, optionally for one path and/or model."""
        return sum(
            n for (p, m), n in self.counts.items() if (path is None or p == path) and (model is None or m == model)
        )

    def received_text(self) -> str:
        """Every text every request carried, joined (to assert what never reached this provider)."""
        return "\n".join(t for r in self.requests for t in r.texts())

    async def wait_for_requests(self, n: int, timeout_s: float = 5.0) -> None:
        """Wait until at least `n` requests arrived in all."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.requests) >= n), timeout_s)

    # --- request handling ------------------------------------------------------------

    async def _receive(self, request: web.Request, path: str) -> tuple[dict[str, Any], Fault | None]:
        body = await request.json()
        model = request.match_info.get("name") or str(body.get("model", ""))
        self.counts[(path, model)] += 1
        self._seq += 1
        if self.record:
            self.requests.append(RecordedRequest(path, model, body, dict(request.headers)))
            async with self._arrived:
                self._arrived.notify_all()
        fault = self._always if self._always is not None and self._always.matches(path, model) else None
        if fault is None:
            for queued in self._faults:
                if queued.matches(path, model):
                    self._faults.remove(queued)
                    fault = queued
                    break
        if not self._gate.is_set():
            await self._gate.wait()
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.kind == "hang":
            hung = asyncio.get_running_loop().create_future()
            self._hung.append(hung)
            await hung
        return body, fault

    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        auth = request.headers.get("Authorization", "")
        return (
            auth == f"Bearer {self.api_key}"
            or request.headers.get("x-api-key") == self.api_key
            or (request.headers.get("api-key") == self.api_key)
        )

    @staticmethod
    def _error(fault: Fault, anthropic: bool) -> web.Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if anthropic:
            kind = "rate_limit_error" if fault.status == 429 else "api_error"
            body = {"type": "error", "error": {"type": kind, "message": f"scripted {fault.status}"}}
        else:
            body = {
                "error": {"message": f"scripted {fault.status}", "type": "server_error", "param": None, "code": None}
            }
        return web.json_response(body, status=fault.status, headers=headers)

    @staticmethod
    async def _drop(request: web.Request, resp: web.StreamResponse | None = None) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.abort()
        return resp or web.Response()

    def _answer_tokens(self, body: dict[str, Any], max_tokens: int | None) -> tuple[list[str], str]:
        tokens = split_tokens(self.answer(body))
        if max_tokens is not None and len(tokens) > max_tokens:
            return tokens[:max_tokens], "length"
        return tokens, "stop"

    async def _misbehave(
        self, request: web.Request, body: dict[str, Any], fault: Fault | None, anthropic: bool
    ) -> web.StreamResponse | None:
        if fault is None:
            return None
        if fault.kind == "status":
            return self._error(fault, anthropic=anthropic)
        if fault.kind == "garbage":
            return web.Response(body=b"<html>not json", content_type="application/json")
        if fault.kind == "drop" and (fault.after_chunks == 0 or not body.get("stream")):
            return await self._drop(request)
        return None

    async def _stream(
        self,
        request: web.Request,
        frames: tuple[list[bytes], list[bytes], list[bytes]],
        fault: Fault | None,
        done: bytes,
    ) -> web.StreamResponse:
        head, middle, tail = frames
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        for frame in head:
            await resp.write(frame)
        for i, frame in enumerate(middle):
            if fault is not None and fault.after_chunks == i and fault.kind == "drop":
                return await self._drop(request, resp)
            if fault is not None and fault.after_chunks == i and fault.kind == "truncate":
                if done:
                    await resp.write(done)
                await resp.write_eof()
                return resp
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            await resp.write(frame)
        for frame in tail:
            await resp.write(frame)
        await resp.write_eof()
        return resp

    async def _openai_chat(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.json_response(
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}, status=401
            )
        body, fault = await self._receive(request, OPENAI_CHAT)
        early = await self._misbehave(request, body, fault, anthropic=False)
        if early is not None:
            return early
        tokens, finish = self._answer_tokens(body, body.get("max_tokens") or body.get("max_completion_tokens"))
        ident = f"chatcmpl-fake-{self._seq}"
        if body.get("stream"):
            frames = openai_stream_frames(ident, body, tokens, finish, stream_usage=self.stream_usage)
            return await self._stream(request, frames, fault, b"data: [DONE]\n\n")
        return web.Response(body=openai_completion(ident, body, tokens, finish), content_type="application/json")

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.json_response(
                {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, status=401
            )
        body, fault = await self._receive(request, ANTHROPIC_MESSAGES)
        early = await self._misbehave(request, body, fault, anthropic=True)
        if early is not None:
            return early
        if "max_tokens" not in body:
            return web.json_response(
                {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}},
                status=400,
            )
        tokens, finish = self._answer_tokens(body, body["max_tokens"])
        ident = f"msg_fake_{self._seq}"
        if body.get("stream"):
            return await self._stream(request, anthropic_stream_frames(ident, body, tokens, finish), fault, b"")
        return web.Response(body=anthropic_message(ident, body, tokens, finish), content_type="application/json")

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.json_response({"error": {"message": "Incorrect API key provided"}}, status=401)
        body, fault = await self._receive(request, EMBEDDINGS)
        if fault is not None and fault.kind == "status":
            return self._error(fault, anthropic=False)
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or ())
        data = [{"object": "embedding", "index": i, "embedding": embedding_vector(t)} for i, t in enumerate(inputs)]
        tokens = sum(len(t.split()) for t in inputs)
        doc = {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return web.json_response(doc)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "fake"}]})


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeLLM(latency_s=args.latency_ms / 1000.0, token_delay_s=args.token_delay_ms / 1000.0, port=args.port)
    fake.record = False
    port = await fake.start()
    print(json.dumps({"port": port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.aclose()


def main() -> None:
    """Serve the fake standalone until SIGTERM (for load tests and benchmarks)."""
    parser = argparse.ArgumentParser(description="fake OpenAI/Anthropic provider on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args()
    if args.no_uvloop:
        asyncio.run(_serve(args))
    else:
        import uvloop

        uvloop.run(_serve(args))


if __name__ == "__main__":
    main()

"""The OpenAI-compatible HTTP front (aiohttp) over the same core as the gRPC service.

Layer: HTTP boundary (the inbound twin of `service.py`). Routes:
`POST /v1/chat/completions` (JSON or SSE with `stream: true`), `POST /v1/embeddings`,
`GET /v1/models`, and `GET /healthz` (no key). Callers authenticate with
`Authorization: Bearer <key>` (what the openai SDK sends) or `x-api-key`, admitted
by the same `Admission` instance as the gRPC server (agentplane.admission), so a
tenant's limits hold across both fronts. The deadline is `x-request-timeout` or the
SDK's `x-stainless-read-timeout` (seconds), capped by settings.

It runs on aiohttp's low-level server with a dict of routes: no application,
router or middleware machinery on the hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.web_request import BaseRequest
from opentelemetry.trace import SpanKind

from agentplane import request_context
from agentplane.admission import Admission, Admitted, error_of
from agentplane.errors import (
    AgentplaneError,
    Code,
    DeadlineExceededError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
)
from agentplane.metrics import RpcMetrics
from agentplane.request_context import RequestContext
from agentplane.tls import check_plaintext_bind, server_ssl_context
from agentplane.tracing import Tracing, current_trace_id
from gateway.config import HttpFrontSettings
from gateway.core import GatewayCore
from gateway.http_wire import (
    apply_extensions,
    chunk_frames,
    completion_body,
    error_body,
    error_frame,
    sensitivity_of,
    usage_frame,
)
from gateway.models import ChatChunk, EmbedRequest
from gateway.openai_wire import chat_request_from_request, embedding_inputs_from_request, embeddings_to_response

__all__ = ["HttpFront"]

log = logging.getLogger(__name__)

_JSON = "application/json"
_Handler = Callable[[BaseRequest, RequestContext], Awaitable[web.StreamResponse]]


def _error_response(err: AgentplaneError) -> web.Response:
    code, body, headers = error_body(err)
    return web.Response(status=code, body=body, content_type=_JSON, headers=headers)


class HttpFront:
    """The HTTP server: start on its port, stop.

    Args:
        settings: Host, port, body and deadline limits.
        core: The gateway core.
        admission: The gRPC server's caller admission (keys and tenant limits).
        metrics: RED metrics per route and refusals (the gRPC server's; None: not recorded).
        tracing: A server span per request, continuing the caller's W3C trace context.
    """

    def __init__(
        self,
        settings: HttpFrontSettings,
        core: GatewayCore,
        admission: Admission,
        metrics: RpcMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._settings = settings
        self._core = core
        self._admission = admission
        self._metrics = metrics
        self._tracing = tracing or Tracing.off()
        self._runner: web.ServerRunner | None = None
        self.port = 0
        self._models_body = self._models_document()
        self._routes: dict[tuple[str, str], Callable[[BaseRequest], Awaitable[web.StreamResponse]]] = {
            ("POST", "/v1/chat/completions"): self._guarded(self._chat, "POST /v1/chat/completions"),
            ("POST", "/v1/embeddings"): self._guarded(self._embeddings, "POST /v1/embeddings"),
            ("GET", "/v1/models"): self._guarded(self._models, "GET /v1/models"),
            ("GET", "/healthz"): self._health,
        }

    @property
    def host(self) -> str:
        """The address the front binds."""
        return self._settings.host

    @property
    def address(self) -> str:
        """host:port of the front (after start)."""
        return f"{self._settings.host}:{self.port}"

    async def start(self) -> int:
        """Bind and serve; return the bound port."""
        loop = asyncio.get_running_loop()
        max_size = self._settings.max_body_bytes

        def make_request(message, payload, protocol, writer, task) -> BaseRequest:  # type: ignore[no-untyped-def]
            return BaseRequest(message, payload, protocol, writer, task, loop, client_max_size=max_size)

        server = web.Server(
            self._dispatch,
            request_factory=make_request,
            access_log=None,
            keepalive_timeout=self._settings.keepalive_timeout_s,
        )
        what = "the gateway's HTTP front (gateway.http.tls)"
        check_plaintext_bind(self._settings.host, self._settings.tls, what)
        ssl_context = server_ssl_context(self._settings.tls, what)
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner, self._settings.host, self._settings.port, reuse_address=True, ssl_context=ssl_context
        )
        await site.start()
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or ()
        self.port = sockets[0].getsockname()[1] if sockets else self._settings.port
        scheme = "https" if ssl_context else "http"
        log.info("OpenAI-compatible HTTP front on %s://%s:%d", scheme, self._settings.host, self.port)
        return self.port

    async def aclose(self) -> None:
        """Stop accepting, close connections (idempotent)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _dispatch(self, request: BaseRequest) -> web.StreamResponse:
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            known = ", ".join(f"{m} {p}" for m, p in self._routes)
            if self._metrics is not None:  # one series for every unknown path (paths are unbounded)
                calls = self._metrics.http_route("unmatched")
                calls.finish(calls.start(), "404")
            return _error_response(NotFoundError(f"no route {request.method} {request.path}; routes: {known}"))
        return await handler(request)

    # --- admission -------------------------------------------------------------------

    def _admit(self, request: BaseRequest, method: str) -> Admitted:
        headers = request.headers
        timeout_s = self._settings.default_timeout_s
        asked = headers.get("x-request-timeout") or headers.get("x-stainless-read-timeout")
        if asked:
            try:
                timeout_s = min(float(asked), self._settings.max_timeout_s)
            except ValueError:
                raise InvalidArgumentError(
                    "x-request-timeout must be a number of seconds",
                    violations=[FieldViolation("x-request-timeout", "not a number")],
                ) from None
        trace_id = current_trace_id() if self._tracing.enabled else None
        return self._admission.admit(headers, method=method, timeout_s=timeout_s, trace_id=trace_id)

    def _guarded(self, handler: _Handler, method: str) -> Callable[[BaseRequest], Awaitable[web.StreamResponse]]:
        calls = self._metrics.http_route(method) if self._metrics is not None else None
        if calls is None and not self._tracing.enabled:
            return lambda request: self._answer(request, handler, method)

        async def observed(request: BaseRequest) -> web.StreamResponse:
            started = calls.start() if calls is not None else 0.0
            status = 500
            try:
                parent = self._tracing.extract(request.headers)
                with self._tracing.span(method, parent=parent, kind=SpanKind.SERVER) as span:
                    response = await self._answer(request, handler, method)
                    status = response.status
                    if span is not None:
                        span.set_attribute("http.response.status_code", status)
                return response
            finally:
                if calls is not None:
                    calls.finish(started, str(status))

        return observed

    def _refused(self, err: AgentplaneError) -> web.Response:
        if self._metrics is not None:
            self._metrics.refused("http", err)
        return _error_response(err)

    async def _answer(self, request: BaseRequest, handler: _Handler, method: str) -> web.StreamResponse:
        """Admit, run the handler, map errors to their HTTP answer (refusals counted)."""
        try:
            admitted = self._admit(request, method)
        except AgentplaneError as exc:
            return self._refused(exc)
        ctx = admitted.context
        try:
            with request_context.use(ctx):
                return await handler(request, ctx)
        except AgentplaneError as exc:
            return self._refused(exc) if exc.code is Code.RESOURCE_EXHAUSTED else _error_response(exc)
        except web.HTTPRequestEntityTooLarge:
            return _error_response(
                InvalidArgumentError(
                    f"the body is larger than the limit of {self._settings.max_body_bytes} bytes (http.max_body_bytes)",
                    reason="REQUEST_TOO_LARGE",
                    violations=[FieldViolation("body", f"larger than {self._settings.max_body_bytes} bytes")],
                )
            )
        except Exception as exc:
            return _error_response(error_of(exc, ctx))
        finally:
            admitted.release()

    @staticmethod
    async def _json(request: BaseRequest) -> object:
        raw = await request.read()
        try:
            return orjson.loads(raw)
        except ValueError:
            raise InvalidArgumentError(
                "the body is not valid JSON", reason="INVALID_JSON", violations=[FieldViolation("body", "not JSON")]
            ) from None

    # --- handlers --------------------------------------------------------------------

    async def _chat(self, request: BaseRequest, ctx: RequestContext) -> web.StreamResponse:
        doc = await self._json(request)
        req, stream, include_usage = chat_request_from_request(doc)
        assert isinstance(doc, dict)  # checked by chat_request_from_request
        if "agentplane" in doc or any(h.lower().startswith("x-agentplane-") for h in request.headers):
            apply_extensions(req, doc, request.headers)
        if stream:
            return await self._stream(request, self._core.stream(req, ctx.tenant), include_usage, req.model)
        result = await self._core.complete(req, ctx.tenant)
        return web.Response(
            body=completion_body(result, int(time.time())),
            content_type=_JSON,
            headers={"x-agentplane-cache-status": "hit" if result.cache_hit else "miss"},
        )

    async def _stream(
        self, request: BaseRequest, chunks: AsyncGenerator[ChatChunk, None], include_usage: bool, model: str
    ) -> web.StreamResponse:
        left = request_context.remaining_s() or self._settings.default_timeout_s
        created = int(time.time())
        async with contextlib.aclosing(chunks):
            try:
                async with asyncio.timeout(left):
                    first = await anext(chunks)
            except TimeoutError:
                raise DeadlineExceededError("no first token before the request's deadline") from None
            except StopAsyncIteration:
                raise InternalError("the stream ended before its first chunk") from None
            resp = web.StreamResponse(
                headers={
                    "Content-Type": "text/event-stream; charset=utf-8",
                    "Cache-Control": "no-cache",
                    "x-agentplane-cache-status": "hit" if first.cache_hit else "miss",
                    "x-agentplane-deployment": first.deployment,
                }
            )
            await resp.prepare(request)
            model = first.alias or model
            try:
                await resp.write(chunk_frames(first, model, created))
                last = first
                async with asyncio.timeout(request_context.remaining_s() or left):
                    async for chunk in chunks:
                        await resp.write(chunk_frames(chunk, model, created))
                        last = chunk
                if include_usage:
                    await resp.write(usage_frame(last, model, created))
                await resp.write(b"data: [DONE]\n\n")
            except AgentplaneError as exc:
                await resp.write(error_frame(exc))
            except TimeoutError:
                await resp.write(error_frame(DeadlineExceededError("the request's deadline passed mid-stream")))
            except ConnectionError:
                log.info("client went away mid-stream (request %s)", request_context.current().request_id)
                return resp
            await resp.write_eof()
            return resp

    async def _embeddings(self, request: BaseRequest, ctx: RequestContext) -> web.StreamResponse:
        doc = await self._json(request)
        model, inputs, b64 = embedding_inputs_from_request(doc)
        assert isinstance(doc, dict)
        req = EmbedRequest(model, inputs, sensitivity_of(doc, request.headers))
        result = await self._core.embed(req, ctx.tenant)
        body = embeddings_to_response(result.alias, result.vectors, result.usage.input_tokens, b64=b64)
        return web.Response(body=body, content_type=_JSON)

    async def _models(self, request: BaseRequest, ctx: RequestContext) -> web.StreamResponse:
        return web.Response(body=self._models_body, content_type=_JSON)

    async def _health(self, request: BaseRequest) -> web.StreamResponse:
        return web.Response(text="ok")

    def _models_document(self) -> bytes:
        data = [
            {"id": alias, "object": "model", "created": 0, "owned_by": "agentplane"}
            for alias in self._core.catalogue.routes
        ]
        return json.dumps({"object": "list", "data": data}).encode()

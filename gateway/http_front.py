"""The OpenAI-compatible HTTP front (aiohttp) over the same core as the gRPC service.

Layer: HTTP boundary (the inbound twin of `service.py`). Routes:
`POST /v1/chat/completions` (JSON or SSE with `stream: true`), `POST /v1/embeddings`,
`GET /v1/models`, and `GET /healthz` (no key). Callers authenticate with
`Authorization: Bearer <key>` (what the openai SDK sends) or `x-api-key`, through
the same `ApiKeyStore` and `TenantLimiter` instances as the gRPC server, so a
tenant's limits hold across both fronts. The deadline is `x-request-timeout` or the
SDK's `x-stainless-read-timeout` (seconds), capped by settings.

It runs on aiohttp's low-level server with a dict of routes: no application,
router or middleware machinery on the hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.web_request import BaseRequest

from agentplane import request_context
from agentplane.auth import ApiKeyStore
from agentplane.errors import (
    AgentplaneError,
    DeadlineExceededError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
)
from agentplane.limits import TenantLimiter, TenantPermit
from agentplane.request_context import Principal, RequestContext
from agentplane.rpc.interceptors import REQUEST_ID_HEADER, TENANT_HEADER, TRACE_ID_HEADER
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
_MAX_CACHED_KEYS = 4096
_Handler = Callable[[BaseRequest, RequestContext], Awaitable[web.StreamResponse]]


def _error_response(err: AgentplaneError) -> web.Response:
    code, body, headers = error_body(err)
    return web.Response(status=code, body=body, content_type=_JSON, headers=headers)


class HttpFront:
    """The HTTP server: start on its port, stop.

    Args:
        settings: Host, port, body and deadline limits.
        core: The gateway core.
        keys: The gRPC server's key store.
        limiter: The gRPC server's tenant limiter.
    """

    def __init__(
        self, settings: HttpFrontSettings, core: GatewayCore, keys: ApiKeyStore, limiter: TenantLimiter
    ) -> None:
        self._settings = settings
        self._core = core
        self._keys = keys
        self._limiter = limiter
        self._principals: dict[str, Principal] = {}
        # Request ids: a random per-process prefix and a counter (unique, and no syscall per request).
        self._id_prefix = secrets.token_hex(8)
        self._id_counter = itertools.count(1)
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
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._settings.host, self._settings.port, reuse_address=True)
        await site.start()
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or ()
        self.port = sockets[0].getsockname()[1] if sockets else self._settings.port
        log.info("OpenAI-compatible HTTP front on %s:%d", self._settings.host, self.port)
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
            return _error_response(NotFoundError(f"no route {request.method} {request.path}; routes: {known}"))
        return await handler(request)

    # --- admission -------------------------------------------------------------------

    def _principal(self, key: str | None, act_for: str | None) -> Principal:
        if act_for or not key:
            return self._keys.authenticate(key, act_for)
        principal = self._principals.get(key)
        if principal is None:  # hash once per key, not per request
            principal = self._keys.authenticate(key)
            if len(self._principals) >= _MAX_CACHED_KEYS:
                self._principals.clear()
            self._principals[key] = principal
        return principal

    def _admit(self, request: BaseRequest, method: str) -> tuple[RequestContext, TenantPermit]:
        headers = request.headers
        auth = headers.get("Authorization")
        key = auth[7:].strip() if auth and auth[:7].lower() == "bearer " else headers.get("x-api-key")
        principal = self._principal(key, headers.get(TENANT_HEADER))
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
        request_id = headers.get(REQUEST_ID_HEADER) or f"{self._id_prefix}{next(self._id_counter):016x}"
        ctx = RequestContext(
            request_id=request_id,
            trace_id=headers.get(TRACE_ID_HEADER) or request_id,
            principal=principal,
            deadline=time.monotonic() + timeout_s,
            method=method,
        )
        return ctx, self._limiter.acquire(principal.tenant)

    def _guarded(self, handler: _Handler, method: str) -> Callable[[BaseRequest], Awaitable[web.StreamResponse]]:
        async def guarded(request: BaseRequest) -> web.StreamResponse:
            try:
                ctx, permit = self._admit(request, method)
            except AgentplaneError as exc:
                return _error_response(exc)
            try:
                with request_context.use(ctx):
                    return await handler(request, ctx)
            except AgentplaneError as exc:
                return _error_response(exc)
            except web.HTTPRequestEntityTooLarge:
                return _error_response(
                    InvalidArgumentError(
                        f"the body is larger than the limit of {self._settings.max_body_bytes} bytes "
                        "(http.max_body_bytes)",
                        reason="REQUEST_TOO_LARGE",
                        violations=[FieldViolation("body", f"larger than {self._settings.max_body_bytes} bytes")],
                    )
                )
            except Exception:
                log.exception("unhandled error in %s (request %s)", method, ctx.request_id)
                return _error_response(
                    InternalError(f"internal error; quote request id {ctx.request_id} to the operator")
                )
            finally:
                permit.release()

        return guarded

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

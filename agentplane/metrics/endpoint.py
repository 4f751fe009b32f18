"""The `/metrics` HTTP endpoint of a service, on its own port.

Layer: shared core, HTTP boundary (aiohttp). Serves the service's registry in the
Prometheus text format (or OpenMetrics when the scraper asks for it). On loopback it
is open; beyond loopback the settings require an API key of role `metrics` (or
`admin`) and/or TLS (`MetricsSettings` refuses to load otherwise). Refreshers run
before each scrape for values that must be fetched (Triton's own metrics).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.web_request import BaseRequest

from agentplane.auth import ApiKeyStore
from agentplane.errors import AgentplaneError
from agentplane.metrics.registry import MetricsRegistry
from agentplane.settings import MetricsSettings

__all__ = ["METRICS_ROLE", "MetricsEndpoint", "Refresher"]

log = logging.getLogger(__name__)

METRICS_ROLE = "metrics"
"""Role of the keys a scraper may use when `metrics.require_key` is on (`admin` keys also may)."""

Refresher = Callable[[], Awaitable[None]]


class MetricsEndpoint:
    """Serves one registry on `settings.host:settings.port` at GET /metrics.

    Args:
        settings: Address, auth and TLS.
        registry: What to serve.
        keys: The service's key store (used when `require_key`).
        refreshers: Awaited (concurrently) before each scrape; a failing one is logged and skipped.
    """

    def __init__(
        self,
        settings: MetricsSettings,
        registry: MetricsRegistry,
        keys: ApiKeyStore | None = None,
        refreshers: Sequence[Refresher] = (),
    ) -> None:
        if settings.require_key and keys is None:
            raise ValueError("metrics.require_key needs the service's key store")
        self._settings = settings
        self._registry = registry
        self._keys = keys
        self._refreshers = list(refreshers)
        self._runner: web.ServerRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The endpoint's URL (after start)."""
        scheme = "https" if self._settings.tls_cert_file else "http"
        return f"{scheme}://{self._settings.host}:{self.port}/metrics"

    def add_refresher(self, refresher: Refresher) -> None:
        """Run `refresher` before every scrape (before `start`)."""
        self._refreshers.append(refresher)

    def _tls(self) -> ssl.SSLContext | None:
        cfg = self._settings
        if cfg.tls_cert_file is None or cfg.tls_key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cfg.tls_cert_file, cfg.tls_key_file)
        return context

    async def start(self) -> int:
        """Bind and serve; return the bound port."""
        runner = web.ServerRunner(web.Server(self._handle, access_log=None), handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._settings.host, self._settings.port, ssl_context=self._tls())
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or ()
        self.port = sockets[0].getsockname()[1] if sockets else self._settings.port
        log.info("metrics on %s", self.url)
        return self.port

    async def aclose(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _refuse(self, request: BaseRequest) -> web.Response | None:
        if not self._settings.require_key:
            return None
        assert self._keys is not None
        auth = request.headers.get("Authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else request.headers.get("x-api-key")
        try:
            principal = self._keys.authenticate(key)
        except AgentplaneError as exc:
            return web.Response(status=401, text=f"{exc.message}\n", headers={"WWW-Authenticate": "Bearer"})
        if not principal.has_role(METRICS_ROLE):
            return web.Response(status=403, text=f"key {principal.name!r} lacks the {METRICS_ROLE!r} role\n")
        return None

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        if request.path != "/metrics":
            return web.Response(status=404, text="metrics are served at /metrics\n")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="use GET\n", headers={"Allow": "GET, HEAD"})
        refused = self._refuse(request)
        if refused is not None:
            return refused
        if self._refreshers:
            results = await asyncio.gather(*(r() for r in self._refreshers), return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    log.warning("metrics refresher failed: %s", result)
        body, content_type = self._registry.render(request.headers.get("Accept", ""))
        response = web.Response(body=body, headers={"Content-Type": content_type})
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.enable_compression()
        return response

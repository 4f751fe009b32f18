"""Builds and runs the review console (`python -m console.server`).

The console is a `ServiceHost` like every agentplane process. Its resources, in start
order: the controller channel, the live-queue pollers, the session sweeper, then the
HTTP(S) site. They close in reverse: the site stops taking requests, open event
streams end, and the channel closes last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from agentplane.rpc import ResourceKey, ServiceHost, closing, lifecycle, serve_main
from console import pages, signin
from console.app import ConsoleState, build_app, templates
from console.config import ConsoleSettings
from console.controller import ControllerClient
from console.guard import SignInLimiter
from console.live import QueueWatch
from console.sessions import SessionStore

__all__ = ["CONSOLE", "ConsoleServer", "build_console", "main"]

log = logging.getLogger(__name__)
_SWEEP_INTERVAL_S = 60.0


class ConsoleServer:
    """The console's HTTP site: `start()` returns the bound port, `aclose()` once.

    Args:
        state: The application's shared state.
    """

    def __init__(self, state: ConsoleState) -> None:
        self.state = state
        self.app = build_app(state)
        signin.add_routes(self.app)
        pages.add_routes(self.app)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The console's address (after start)."""
        scheme = "https" if self.state.settings.tls else "http"
        return f"{scheme}://{self.state.settings.server.host}:{self.port}/"

    def _ssl(self) -> ssl.SSLContext | None:
        cfg = self.state.settings
        if cfg.tls_cert_file is None or cfg.tls_key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cfg.tls_cert_file, cfg.tls_key_file)
        return context

    async def start(self) -> int:
        """Listen on `server.host:server.port` (0 = a free port); return the port."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        cfg = self.state.settings.server
        site = web.TCPSite(self._runner, cfg.host, cfg.port, ssl_context=self._ssl())
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("review console at %s", self.url)
        return self.port

    async def aclose(self) -> None:
        """End live streams and stop the site (idempotent)."""
        await self.state.watch.aclose()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


CONSOLE: ResourceKey[ConsoleServer] = ResourceKey("console", ConsoleServer)


def _sweeper(sessions: SessionStore) -> Callable[[], AsyncIterator[None]]:
    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(_SWEEP_INTERVAL_S)  # housekeeping period: forget expired sessions' keys
            sessions.sweep()

    async def ctx() -> AsyncIterator[None]:
        task = asyncio.create_task(sweep_forever(), name="console-session-sweep")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def build_console(settings: ConsoleSettings, *, clock: Callable[[], float] = time.monotonic) -> ServiceHost:
    """The console's host, not yet started (its HTTP site is `host[CONSOLE]`).

    Args:
        settings: Console settings.
        clock: Monotonic seconds for session expiry and sign-in limits (tests pass their own).
    """
    host = ServiceHost(settings, "console")
    client = ControllerClient(settings.endpoints.controller, settings.client, settings.call_timeout_s)
    host.add("controller channel", closing(client))
    state = ConsoleState(
        settings=settings,
        client=client,
        sessions=SessionStore(settings.session_ttl_s, settings.session_idle_s, settings.max_sessions, clock),
        limiter=SignInLimiter(
            settings.signin_per_address_per_min, settings.signin_burst, settings.signin_total_per_min, clock=clock
        ),
        watch=QueueWatch(client, settings.poll_interval_s, settings.max_queue_reviews),
        templates=templates(),
    )
    host.add("session sweeper", _sweeper(state.sessions))
    server = host[CONSOLE] = ConsoleServer(state)
    host.add("http", lifecycle(server))
    return host


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    serve_main(ConsoleSettings, "console", build_console)


if __name__ == "__main__":
    main()

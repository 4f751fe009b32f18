"""Builds and runs the review console (`python -m console.server`).

Start: controller channel, session store, application, HTTP(S) site; the console
prints its URL once it listens. Stop (SIGTERM/SIGINT): live-update streams end,
the site closes, then the controller channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import time
from collections.abc import Callable

from aiohttp import web

from agentplane.log import configure_logging
from agentplane.settings import load_settings
from console import pages, signin
from console.app import ConsoleState, build_app, templates
from console.config import ConsoleSettings
from console.controller import ControllerClient
from console.guard import SignInLimiter
from console.live import QueueWatch
from console.sessions import SessionStore

__all__ = ["ConsoleServer", "build_console", "main"]

_SWEEP_INTERVAL_S = 60.0


class ConsoleServer:
    """The console's HTTP server: `start()` returns the bound port, `stop()` once.

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
        self._sweeper: asyncio.Task[None] | None = None

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
        self._sweeper = asyncio.create_task(self._sweep(), name="console-session-sweep")
        return self.port

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_INTERVAL_S)  # housekeeping period: forget expired sessions' keys
            self.state.sessions.sweep()

    async def stop(self) -> None:
        """End live streams, close the site, then the controller channel."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.state.watch.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.state.client.aclose()


def build_console(settings: ConsoleSettings, *, clock: Callable[[], float] = time.monotonic) -> ConsoleServer:
    """Wire the console (nothing starts until `start`).

    Args:
        settings: Console settings.
        clock: Monotonic seconds for session expiry and sign-in limits (tests pass their own).
    """
    client = ControllerClient(settings.endpoints.controller, settings.client, settings.call_timeout_s)
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
    return ConsoleServer(state)


async def serve(settings: ConsoleSettings) -> None:
    """Serve until SIGTERM/SIGINT."""
    server = build_console(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"review console: {server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(ConsoleSettings, "console")
    configure_logging("console", settings.log.level, json_format=settings.log.json_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

"""Running an MCP server over stdio or streamable HTTP (uvicorn on 127.0.0.1).

Layer: shared core, MCP boundary. `http_app` wraps the SDK's streamable-HTTP app in
API-key authentication and the SDK's Host/Origin validation; `HttpMcpServer` serves it
with uvicorn on a socket bound up front (port 0 works: `start()` returns the port) and
stops it gracefully; `serve_stdio` runs a server on this process's stdin/stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from agentplane.admission import KeyStore
from agentplane.mcp.auth import ApiKeyMiddleware
from agentplane.mcp.config import McpHttpSettings
from agentplane.mcp.pipes import pipe_stdio
from agentplane.settings import TlsListenerSettings
from agentplane.tls import check_plaintext_bind, server_ssl_context

__all__ = ["HttpMcpServer", "http_app", "serve_stdio"]


def http_app(server: MCPServer[Any], settings: McpHttpSettings, keys: KeyStore) -> ASGIApp:
    """The authenticated streamable-HTTP ASGI app of `server` (one per server instance).

    Args:
        server: The MCP server.
        settings: Path, modes, limits and accepted Host/Origin headers.
        keys: The key store callers are checked against.
    """
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(settings.allowed_hosts),
        allowed_origins=list(settings.allowed_origins),
    )
    app = server.streamable_http_app(
        streamable_http_path=settings.path,
        stateless_http=settings.stateless,
        json_response=settings.json_response,
        transport_security=security,
        host=settings.host,
        max_request_body_size=settings.max_request_bytes,
        session_idle_timeout=settings.session_idle_timeout_s,
        max_sessions=settings.max_sessions,
    )
    return ApiKeyMiddleware(app, keys)


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve `server` on stdin/stdout until the client closes stdin (on asyncio pipes when they are pipes)."""
    async with pipe_stdio() as pipes:
        if pipes is None:
            await server.run_stdio_async()
            return
        lowlevel = server._lowlevel_server  # what run_stdio_async runs; the SDK has no public handle
        async with stdio_server(*pipes) as (read_stream, write_stream):  # type: ignore[arg-type]
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


class _Uvicorn(uvicorn.Server):
    """uvicorn with an event set once it accepts connections (lifespan done)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals belong to whoever runs the event loop (the CLI, a test), not to this server."""
        yield


class HttpMcpServer:
    """An ASGI app served by uvicorn on host:port.

    Args:
        app: The app (see `http_app`).
        host: Address to bind.
        port: Port to bind; 0 picks a free one.
        start_timeout_s: Longest wait for the app's lifespan start-up.
        tls: HTTPS files (and the client CA for client certificates); default plaintext.
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        start_timeout_s: float = 30.0,
        tls: TlsListenerSettings | None = None,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._tls = tls or TlsListenerSettings()
        self._start_timeout_s = start_timeout_s
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> int:
        """Bind, run the lifespan, accept connections; return the bound port.

        Raises:
            OSError: The address cannot be bound.
            RuntimeError: The server stopped during start-up.
            TimeoutError: Start-up took longer than `start_timeout_s`.
            SettingsError: A TLS file is missing or invalid, or plaintext off loopback is refused.
        """
        what = "the MCP HTTP server (mcp.http.tls)"
        check_plaintext_bind(self._host, self._tls, what)
        server_ssl_context(self._tls, what)  # fails here, with the file's name, before uvicorn would
        sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        tls = self._tls
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            log_config=None,
            ssl_certfile=str(tls.cert_file) if tls.cert_file else None,
            ssl_keyfile=str(tls.key_file) if tls.key_file else None,
            ssl_ca_certs=str(tls.client_ca_file) if tls.client_ca_file else None,
            ssl_cert_reqs=ssl.CERT_REQUIRED if tls.client_ca_file else ssl.CERT_NONE,
        )
        self._server = _Uvicorn(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=f"mcp-http-{self.port}")
        ready = asyncio.create_task(self._server.ready.wait())
        try:
            done, _ = await asyncio.wait(
                {self._task, ready}, timeout=self._start_timeout_s, return_when="FIRST_COMPLETED"
            )
        finally:
            ready.cancel()
        if self._task in done:
            sock.close()
            failure = self._task.exception() if not self._task.cancelled() else None
            raise RuntimeError(f"the MCP HTTP server stopped during start-up: {failure!r}") from failure
        if not done:
            await self.stop()
            raise TimeoutError(f"the MCP HTTP server did not start within {self._start_timeout_s:g}s")
        return self.port

    async def aclose(self) -> None:
        """`stop` with the default grace period."""
        await self.stop()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting, let open requests finish for `grace_s`, then close (idempotent)."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = None

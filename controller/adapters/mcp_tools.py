"""External MCP servers as controller capabilities: their tools, namespaced "server.tool".

Layer: controller adapters (the MCP client side). Each server in
`ControllerSettings.external_tools` is reached with the SDK's `mcp.Client`, over stdio
(`command`) or streamable HTTP (`url` + `headers`). A connection lives in its own task
(the SDK's client must be entered and left in one task), is opened at start and, after
a failure, again on the next call. A tenant sees and calls only the tools its policy
allows (`external_tools`: "server.tool" or "server.*"); anything else is refused before
any call is made. Every call (refused ones included) returns or carries a `CallInfo`,
which the runner records as a "downstream.call" audit event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx2
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND, REQUEST_TIMEOUT, CallToolResult, TextContent, Tool

from agentplane import request_context
from agentplane.errors import (
    AgentplaneError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
    UnimplementedError,
)
from agentplane.settings import SettingsError
from controller.capabilities import CallInfo, ToolSpec
from controller.config import ExternalToolServerSettings, PolicySettings

__all__ = ["ExternalTools"]

log = logging.getLogger(__name__)
_MAX_LIST_PAGES = 20


class _Connection:
    """One external server: a client session held open by a background task."""

    def __init__(self, name: str, settings: ExternalToolServerSettings) -> None:
        self.name = name
        self.settings = settings
        self.transport = "stdio" if settings.command else "http"
        self.tools: dict[str, Tool] = {}
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[Client]:
        if self.settings.command:
            params = StdioServerParameters(command=self.settings.command[0], args=list(self.settings.command[1:]))
            async with Client(params, read_timeout_seconds=self.settings.timeout_s) as client:
                yield client
            return
        async with httpx2.AsyncClient(headers=self.settings.headers, timeout=self.settings.timeout_s) as http:
            transport = streamable_http_client(self.settings.url, http_client=http)
            async with Client(transport, read_timeout_seconds=self.settings.timeout_s) as client:
                yield client

    async def _hold(self, ready: asyncio.Future[Client]) -> None:
        try:
            async with self._open() as client:
                tools: dict[str, Tool] = {}
                cursor: str | None = None
                for _ in range(_MAX_LIST_PAGES):
                    page = await client.list_tools(cursor=cursor)
                    tools.update((t.name, t) for t in page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
                self.tools = tools
                ready.set_result(client)
                await self._closing.wait()
        except BaseException as exc:  # the SDK raises ExceptionGroups; keep the first leaf
            if not ready.done():
                ready.set_exception(_unavailable(self.name, exc))
            elif not isinstance(exc, asyncio.CancelledError):
                log.warning("external tool server %r disconnected: %s", self.name, _leaf(exc))
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
        finally:
            self._client = None

    async def client(self) -> Client:
        """The open client, connecting first when there is none.

        Raises:
            UnavailableError: The server cannot be started or reached, or did not answer in time.
        """
        async with self._lock:
            if self._client is not None and self._task is not None and not self._task.done():
                return self._client
            loop = asyncio.get_running_loop()
            ready: asyncio.Future[Client] = loop.create_future()
            self._closing = asyncio.Event()
            self._task = asyncio.create_task(self._hold(ready), name=f"mcp-client-{self.name}")
            try:
                async with asyncio.timeout(self.settings.timeout_s):
                    self._client = await asyncio.shield(ready)
            except TimeoutError:
                await self.aclose()
                raise UnavailableError(
                    f"external tool server {self.name!r} did not start within {self.settings.timeout_s:g}s",
                    reason="EXTERNAL_TOOL_SERVER_UNAVAILABLE",
                ) from None
            return self._client

    async def aclose(self) -> None:
        """Close the session (stops a stdio server's process)."""
        self._closing.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ExternalTools:
    """Implements `ToolCapability` over the configured external MCP servers.

    Args:
        servers: Name -> server settings (`ControllerSettings.external_tools`).
        policy: Tenant policies (their `external_tools` allow-lists).

    Raises:
        SettingsError: A server has neither or both of `command` and `url`, or a name with a dot.
    """

    def __init__(self, servers: Mapping[str, ExternalToolServerSettings], policy: PolicySettings) -> None:
        for name, cfg in servers.items():
            if bool(cfg.command) == bool(cfg.url) or "." in name:
                raise SettingsError(
                    f"external_tools.{name}: give exactly one of command (stdio) or url (streamable HTTP), "
                    "and a name without dots"
                )
        self._servers = {name: _Connection(name, cfg) for name, cfg in servers.items()}
        self._policy = policy

    async def start(self) -> None:
        """Connect to every server and list its tools; a server that fails is retried on its next call."""
        results = await asyncio.gather(*(c.client() for c in self._servers.values()), return_exceptions=True)
        for conn, result in zip(self._servers.values(), results, strict=True):
            if isinstance(result, BaseException):
                log.warning("external tool server %r unavailable at start: %s", conn.name, result)
            else:
                log.info("external tool server %r: %d tools", conn.name, len(conn.tools))

    async def aclose(self) -> None:
        """Close every connection."""
        for conn in self._servers.values():
            await conn.aclose()

    def _allowed(self, tenant: str, server: str, tool: str) -> bool:
        allowed = self._policy.for_tenant(tenant).external_tools
        return f"{server}.{tool}" in allowed or f"{server}.*" in allowed

    def tools_for(self, tenant: str) -> list[ToolSpec]:
        """The namespaced tools of the connected servers that `tenant` may use."""
        return [
            ToolSpec(f"{conn.name}.{tool.name}", tool.description or "", dict(tool.input_schema))
            for conn in self._servers.values()
            for tool in conn.tools.values()
            if self._allowed(tenant, conn.name, tool.name)
        ]

    async def call(self, tenant: str, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], CallInfo]:
        """Call tool `name` ("server.tool") for `tenant`; returns its structured (or text) result.

        Raises:
            PermissionDeniedError: The tenant's policy does not allow the tool (nothing was called).
            NotFoundError: No such server or tool.
            InvalidArgumentError: The server refused the arguments.
            FailedPreconditionError: The tool ran and reported an error.
            DeadlineExceededError: No answer within the server's timeout (or the task's deadline).
            UnavailableError: The server cannot be reached.
        """
        server, _, tool = name.partition(".")
        started = time.perf_counter()
        conn = self._servers.get(server)
        detail = {"server": server, "tool": tool, "transport": conn.transport if conn else ""}
        try:
            if not tool or not self._allowed(tenant, server, tool):
                raise PermissionDeniedError(
                    f"tenant {tenant!r} may not use external tool {name!r} (policy external_tools)",
                    reason="EXTERNAL_TOOL_NOT_ALLOWED",
                )
            if conn is None:
                raise NotFoundError(f"no external tool server {server!r} is configured", reason="TOOL_SERVER_UNKNOWN")
            result = await self._call(conn, tool, arguments)
        except AgentplaneError as exc:
            outcome = "denied" if isinstance(exc, PermissionDeniedError) else "error"
            info = CallInfo(f"mcp:{server}", tool, _ms(started), 0 if outcome == "denied" else 1, outcome,
                            {**detail, "code": exc.code.name, "error": exc.message})  # fmt: skip
            exc.call_info = info  # type: ignore[attr-defined]
            raise
        return result, CallInfo(f"mcp:{server}", tool, _ms(started), 1, "ok", detail)

    @staticmethod
    async def _call(conn: _Connection, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        client = await conn.client()
        if tool not in conn.tools:
            raise NotFoundError(f"external tool server {conn.name!r} has no tool {tool!r}", reason="TOOL_UNKNOWN")
        timeout_s = conn.settings.timeout_s
        left = request_context.remaining_s()
        if left is not None:
            timeout_s = min(timeout_s, max(left, 0.0))
        try:
            async with asyncio.timeout(timeout_s):
                result = await client.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
        except TimeoutError:
            raise DeadlineExceededError(
                f"external tool {conn.name}.{tool} did not answer within {timeout_s:.3g}s",
                reason="EXTERNAL_TOOL_TIMEOUT",
            ) from None
        except MCPError as exc:
            raise _from_mcp_error(conn.name, tool, exc) from exc
        return _result(conn.name, tool, result)


def _result(server: str, tool: str, result: CallToolResult) -> dict[str, Any]:
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    if result.is_error:
        raise FailedPreconditionError(
            f"external tool {server}.{tool} reported an error: {text}", reason="EXTERNAL_TOOL_ERROR"
        )
    if isinstance(result.structured_content, dict):
        return dict(result.structured_content)
    return {"text": text}


def _from_mcp_error(server: str, tool: str, exc: MCPError) -> AgentplaneError:
    message = f"external tool {server}.{tool}: {exc.message}"
    if exc.code == INVALID_PARAMS:
        return InvalidArgumentError(message, reason="EXTERNAL_TOOL_BAD_ARGUMENTS")
    if exc.code == METHOD_NOT_FOUND:
        return UnimplementedError(message, reason="EXTERNAL_TOOL_UNSUPPORTED")
    if exc.code == REQUEST_TIMEOUT:
        return DeadlineExceededError(message, reason="EXTERNAL_TOOL_TIMEOUT")
    return UnavailableError(message, reason="EXTERNAL_TOOL_FAILED")


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _unavailable(server: str, exc: BaseException) -> UnavailableError:
    leaf = _leaf(exc)
    return UnavailableError(
        f"external tool server {server!r} is unreachable: {type(leaf).__name__}: {leaf}",
        reason="EXTERNAL_TOOL_SERVER_UNAVAILABLE",
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)

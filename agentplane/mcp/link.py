"""The gRPC side of an MCP adapter: one channel to the service, each call made with the caller's key.

Layer: shared core, MCP boundary. A service's `mcp_server.build(link)` builds stubs on
`link.channel` and makes every tool a single `await link.call(stub.Method, request, ctx)`:
the caller's key travels as `x-api-key`, so the service's own authentication, tenant
isolation and tenant limits apply exactly as for gRPC clients, and failures come back
as tool errors with the service's message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc

from agentplane.errors import AgentplaneError
from agentplane.mcp.context import caller_key
from agentplane.mcp.errors import resource_error, tool_error
from agentplane.rpc import ServiceChannel, unary
from agentplane.rpc.interceptors import API_KEY_HEADER
from agentplane.settings import ClientSettings

__all__ = ["ServiceLink"]

R = TypeVar("R")


class ServiceLink:
    """A channel to one service for MCP tools.

    Args:
        service: Service name ("realtime", ...), for messages.
        addresses: host:port of its replicas.
        client: Client settings (default timeout, message size).
        launch_key: The stdio server's key; None for HTTP (each request brings its own).
        timeout_s: Deadline of each call.
    """

    def __init__(
        self,
        service: str,
        addresses: Sequence[str],
        client: ClientSettings | None = None,
        *,
        launch_key: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.service = service
        # No channel-wide key: every call carries its caller's key.
        self._channel = ServiceChannel(addresses, client, api_key="")
        self._launch_key = launch_key
        self._timeout_s = timeout_s

    @property
    def channel(self) -> grpc.aio.Channel:
        """The grpc.aio channel to build stubs on."""
        return self._channel.channel

    async def call(self, method: Callable[..., Awaitable[R]], request: Any, ctx: Any) -> R:
        """Make one unary call as the tool's caller.

        Args:
            method: A stub method built on `channel`.
            request: The request message.
            ctx: The tool's `Context` (None in stdio-only code paths).

        Raises:
            ToolError: The call failed; the message names the status and the service's reason.
        """
        try:
            key = caller_key(ctx, self._launch_key)
            return await unary(method, request, timeout_s=self._timeout_s, metadata=((API_KEY_HEADER, key),))
        except AgentplaneError as exc:
            raise tool_error(exc) from exc

    async def read(self, method: Callable[..., Awaitable[R]], request: Any, ctx: Any) -> R:
        """Like `call`, for resource reads.

        Raises:
            ResourceError: The call failed (ResourceNotFoundError for NOT_FOUND).
        """
        try:
            key = caller_key(ctx, self._launch_key)
            return await unary(method, request, timeout_s=self._timeout_s, metadata=((API_KEY_HEADER, key),))
        except AgentplaneError as exc:
            raise resource_error(exc) from exc

    async def aclose(self) -> None:
        """Close the channel."""
        await self._channel.aclose()

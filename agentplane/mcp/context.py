"""Who is calling a tool: the HTTP request's verified key, or the key a stdio server was launched with.

Layer: shared core, MCP boundary. Over streamable HTTP, `ApiKeyMiddleware` verifies the
request's key and stores a `Caller` in the ASGI scope; the SDK hands tools the same
Starlette request (`ctx.request_context.request`), so each call sees the key of the
POST that carried it, stateful session or not. Over stdio there is no request: the
key given at launch (`--as`, `--api-key`) is used.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from agentplane.errors import UnauthenticatedError
from agentplane.request_context import Principal

__all__ = ["SCOPE_KEY", "Caller", "attach_caller", "caller_key"]

SCOPE_KEY = "agentplane.caller"


@dataclass(frozen=True)
class Caller:
    """An authenticated HTTP caller: the raw key (forwarded to gRPC) and its principal."""

    api_key: str
    principal: Principal

    def __repr__(self) -> str:
        return f"Caller(principal={self.principal!r})"  # never the key


def attach_caller(scope: MutableMapping[str, Any], caller: Caller) -> None:
    """Record the verified caller in an ASGI scope."""
    scope[SCOPE_KEY] = caller


def caller_key(ctx: Context[Any, Any] | None, launch_key: str | None) -> str:
    """The API key a tool call is made with.

    Args:
        ctx: The tool's MCP context (None outside a request).
        launch_key: The key a stdio server was started with; None for HTTP servers.

    Raises:
        UnauthenticatedError: No key: an HTTP request that bypassed authentication, or a
            server started without one.
    """
    request = None
    if ctx is not None:
        try:
            request = ctx.request_context.request
        except ValueError:  # outside a request
            request = None
    scope = getattr(request, "scope", None)
    if scope is not None:
        caller = scope.get(SCOPE_KEY)
        if isinstance(caller, Caller):
            return caller.api_key
        if launch_key is None:
            raise UnauthenticatedError("the HTTP request carried no verified API key", reason="API_KEY_MISSING")
    if launch_key is None:
        raise UnauthenticatedError(
            "no API key: start the stdio server with --as NAME or --api-key KEY", reason="API_KEY_MISSING"
        )
    return launch_key

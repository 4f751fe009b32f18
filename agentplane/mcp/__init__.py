"""MCP plumbing shared by every service's MCP adapter (`<service>/mcp_server.py`).

Layer: shared core, MCP boundary. `ServiceLink` makes a tool's single gRPC call with the
caller's key; `errors` maps agentplane errors to tool errors in one place; `transport`
serves a server over stdio or authenticated streamable HTTP; `registry` finds a
service's server factory through the `agentplane.mcp` entry-point group, so the core
never imports a service.
"""

from agentplane.mcp.config import McpHttpSettings, McpSettings
from agentplane.mcp.context import Caller, caller_key
from agentplane.mcp.errors import describe, resource_error, tool_error
from agentplane.mcp.link import ServiceLink
from agentplane.mcp.registry import ServerFactory, available, load_factory, new_server
from agentplane.mcp.transport import HttpMcpServer, http_app, serve_stdio

__all__ = [
    "Caller",
    "HttpMcpServer",
    "McpHttpSettings",
    "McpSettings",
    "ServerFactory",
    "ServiceLink",
    "available",
    "caller_key",
    "describe",
    "http_app",
    "load_factory",
    "new_server",
    "resource_error",
    "serve_stdio",
    "tool_error",
]

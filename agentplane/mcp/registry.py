"""Finding each service's MCP server factory through the `agentplane.mcp` entry-point group.

Layer: shared core, MCP boundary. The core imports no service: pyproject.toml maps a
service name to its factory (`realtime = "realtime.mcp_server:build"`), a function
`build(link: ServiceLink) -> MCPServer` that registers the service's tools on a server.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from mcp.server.mcpserver import MCPServer

from agentplane import __version__
from agentplane.errors import NotFoundError
from agentplane.mcp.link import ServiceLink

__all__ = ["ENTRY_POINT_GROUP", "ServerFactory", "available", "load_factory", "new_server"]

ENTRY_POINT_GROUP = "agentplane.mcp"

ServerFactory = Callable[[ServiceLink], MCPServer[Any]]


def new_server(name: str, instructions: str) -> MCPServer[Any]:
    """An empty MCP server named `name`, versioned with agentplane, for a factory to add tools to."""
    return MCPServer(name, version=__version__, instructions=instructions)


def available() -> list[str]:
    """Names of the services that offer an MCP server, sorted."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def load_factory(service: str) -> ServerFactory:
    """The MCP server factory of `service`.

    Raises:
        NotFoundError: No factory is registered under that name.
    """
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=service):
        factory: ServerFactory = ep.load()
        return factory
    known = ", ".join(available()) or "none (is the package installed?)"
    raise NotFoundError(f"no MCP server for {service!r}; known: {known}", reason="MCP_SERVER_UNKNOWN")

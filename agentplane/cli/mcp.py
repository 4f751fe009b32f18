"""`agentplane mcp <service>`: serve one service's tools to MCP clients over stdio or streamable HTTP.

Layer: shared core, CLI. The service's server factory comes from the `agentplane.mcp`
entry-point group; its tools call the running service over gRPC. Over stdio (what IDEs
launch) every call is made with one key chosen at launch (`--as NAME` from the embedded
default's credentials, `--api-key`, or AGENTPLANE_MCP__API_KEY); over HTTP each request
brings its own key (`Authorization: Bearer`), checked against the platform's key store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from agentplane.auth import ApiKeyStore
from agentplane.errors import InvalidArgumentError
from agentplane.log import configure_logging
from agentplane.platform import named_key
from agentplane.settings import load_settings

if TYPE_CHECKING:
    from agentplane.mcp import McpSettings, ServerFactory

# The MCP SDK and uvicorn are imported only when the command runs: other commands start faster.

__all__ = ["register", "run_mcp"]

log = logging.getLogger(__name__)
DEFAULT_KEY_NAME = "acme-user"


def register(sub: Any) -> None:
    """Add the `mcp` command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "mcp",
        help="serve a service's tools to MCP clients (IDEs, assistants)",
        description="Serve one service as an MCP server. Services: "
        + (", ".join(sorted(ep.name for ep in entry_points(group="agentplane.mcp"))) or "none installed"),
    )
    parser.add_argument("service", help="controller, gateway, domain_inference or realtime")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="stdio (IDEs) or http")
    parser.add_argument("--port", type=int, default=None, help="http: port (default per service; 0 = any free)")
    parser.add_argument(
        "--as", dest="key_name", default=None, help=f"stdio: key name from credentials.toml ({DEFAULT_KEY_NAME})"
    )
    parser.add_argument("--api-key", default=None, help="stdio: the API key to call the service with")
    parser.add_argument("--address", default=None, help="host:port of the service (default: from settings)")
    parser.set_defaults(func=run_mcp)


def _launch_key(args: argparse.Namespace, settings: McpSettings) -> str:
    if args.api_key:
        return str(args.api_key)
    if settings.api_key is not None and args.key_name is None:
        return settings.api_key.get_secret_value()
    name = args.key_name or DEFAULT_KEY_NAME
    return named_key(settings.data_dir, name, hint="pass --api-key or set AGENTPLANE_MCP__API_KEY")


def run_mcp(args: argparse.Namespace) -> int:
    """Build the service's MCP server and serve it until the client leaves (stdio) or a signal (http)."""
    from agentplane.mcp import McpSettings, load_factory

    service = args.service.replace("-", "_")
    settings = load_settings(McpSettings, "mcp")
    configure_logging(f"mcp.{service}", settings.log.level, json_format=settings.log.json_format)
    factory = load_factory(service)
    addresses = (args.address,) if args.address else getattr(settings.endpoints, service, None)
    if not addresses:
        raise InvalidArgumentError(f"no endpoint configured for {service!r}: pass --address host:port")
    if args.transport == "stdio":
        serving = _serve_stdio(service, tuple(addresses), settings, _launch_key(args, settings), factory)
    elif args.api_key or args.key_name:
        raise InvalidArgumentError("--as and --api-key apply to stdio only: HTTP callers send their own key")
    else:
        serving = _serve_http(service, tuple(addresses), settings, args, factory)
    if settings.use_uvloop:
        import uvloop

        return uvloop.run(serving)
    return asyncio.run(serving)


async def _serve_stdio(
    service: str, addresses: tuple[str, ...], settings: McpSettings, key: str, factory: ServerFactory
) -> int:
    from agentplane.mcp import ServiceLink, serve_stdio

    link = ServiceLink(service, addresses, settings.client, launch_key=key, timeout_s=settings.call_timeout_s)
    try:
        await serve_stdio(factory(link))
    finally:
        await link.aclose()
    return 0


async def _serve_http(
    service: str, addresses: tuple[str, ...], settings: McpSettings, args: argparse.Namespace, factory: ServerFactory
) -> int:
    from agentplane.mcp import HttpMcpServer, ServiceLink, http_app
    from agentplane.rpc import ServiceHost, closing, lifecycle, run_until_signal

    keys = ApiKeyStore.from_settings(settings.auth, settings.data_dir)
    if keys.enabled and not len(keys):
        log.warning("no API keys are configured: every request will be refused with 401")
    host = settings.http.host
    port = args.port if args.port is not None else settings.http.ports.get(service, 0)
    link = ServiceLink(service, addresses, settings.client, timeout_s=settings.call_timeout_s)
    server = HttpMcpServer(http_app(factory(link), settings.http, keys), host, port, tls=settings.http.tls)
    service_host = ServiceHost(settings, f"mcp.{service}")
    service_host.add("link", closing(link))
    service_host.add("http", lifecycle(server))
    scheme = "https" if settings.http.tls.enabled else "http"

    def announce(_: object) -> None:
        url = f"{scheme}://{host}:{server.port}{settings.http.path}"
        print(json.dumps({"service": service, "url": url}), flush=True)

    await run_until_signal(service_host, ready=announce)
    return 0

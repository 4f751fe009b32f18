"""The MCP tests' platform: every real service on 127.0.0.1, shared by the package.

Started once (package-scoped, on the package's event loop): a local web site and the
realtime service allowed to fetch from it; a fake LLM provider behind the real gateway;
domain inference on its in-process fallback (Triton deliberately unreachable); and the
controller wired to all three, with the external MCP server `tests/mcp/external_server.py`
(stdio) configured as "ext". On top, each service's MCP server over streamable HTTP
(uvicorn, port 0) and a factory for stdio clients that run `agentplane mcp <service>`.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextResourceContents

from agentplane.auth import ApiKeyStore
from agentplane.mcp import HttpMcpServer, McpSettings, ServiceLink, http_app, load_factory
from agentplane.rpc import ServiceHost
from controller.config import ControllerSettings
from controller.server import build_controller
from tests.realtime.site import TestSite
from tests.support.fake_llm import FakeLLM
from tests.support.keys import raw_key
from tests.support.models import models_dir
from tests.support.services import start_downstreams
from tests.support.settings import test_settings

REPO = Path(__file__).resolve().parents[2]
EXTERNAL_SERVER = Path(__file__).with_name("external_server.py")
AGENTPLANE = str(Path(sys.executable).with_name("agentplane"))
SERVICES = ("controller", "domain_inference", "gateway", "realtime")


@dataclass
class Platform:
    """The running services and their MCP HTTP endpoints."""

    data_dir: Path
    site: TestSite
    llm: FakeLLM
    addresses: dict[str, str] = field(default_factory=dict)
    mcp_urls: dict[str, str] = field(default_factory=dict)
    mcp_settings: McpSettings | None = None

    def stdio_params(self, service: str, key: str) -> StdioServerParameters:
        """`agentplane mcp <service> --transport stdio` calling the service with test key `key`."""
        args = ["mcp", service, "--transport", "stdio"]
        args += ["--api-key", raw_key(key), "--address", self.addresses[service]]
        env = {"AGENTPLANE_DATA_DIR": str(self.data_dir), "AGENTPLANE_LOG__LEVEL": "warning"}
        return StdioServerParameters(command=AGENTPLANE, args=args, env=env, cwd=str(REPO))

    @asynccontextmanager
    async def http_client(self, service: str, key: str | None = "acme-user", **headers: str) -> AsyncIterator[Client]:
        """An SDK client of the service's MCP HTTP endpoint, authenticated as test key `key`."""
        sent = dict(headers)
        if key is not None:
            sent["Authorization"] = f"Bearer {raw_key(key)}"
        async with httpx2.AsyncClient(headers=sent) as http:
            async with Client(streamable_http_client(self.mcp_urls[service], http_client=http)) as client:
                yield client

    @asynccontextmanager
    async def stdio_client(self, service: str, key: str = "acme-user") -> AsyncIterator[Client]:
        """An SDK client of `agentplane mcp <service>` over stdio."""
        async with Client(self.stdio_params(service, key)) as client:
            yield client


def _controller_settings(data_dir: Path, addresses: dict[str, str]) -> ControllerSettings:
    acme = {
        "external_tools": ["ext.*"],
        "task_types": {"payment_approval": {"route": "LLM", "high_stakes": True}},
    }
    return test_settings(
        ControllerSettings,
        "controller",
        data_dir / "controller",
        endpoints={name: [addresses[name]] for name in ("gateway", "domain_inference", "realtime")},
        client={"api_key": raw_key("service")},
        external_tools={"ext": {"command": [sys.executable, str(EXTERNAL_SERVER)], "timeout_s": 60.0}},
        policy={"tenants": {"acme": acme}},
        llm={"samples": 1},
        review_sweep_interval_s=3600.0,
    )


ControllerSettingsFactory = Callable[[Path, dict[str, str]], ControllerSettings]


async def _start_services(
    stack: AsyncExitStack, p: Platform, artifacts: Path, controller_settings: ControllerSettingsFactory
) -> None:
    hosts = await start_downstreams(
        stack, p.data_dir, site_port=p.site.port, llm_url=p.llm.base_url, artifacts=artifacts
    )
    p.addresses.update({name: f"127.0.0.1:{host.port}" for name, host in hosts.items()})
    controller: ServiceHost = build_controller(controller_settings(p.data_dir, p.addresses))
    p.addresses["controller"] = f"127.0.0.1:{await controller.start()}"
    stack.push_async_callback(controller.stop)


async def _start_mcp_http(stack: AsyncExitStack, p: Platform) -> None:
    settings = test_settings(McpSettings, "mcp", p.data_dir)
    p.mcp_settings = settings
    keys = ApiKeyStore.from_settings(settings.auth, settings.data_dir)
    for name in SERVICES:
        link = ServiceLink(name, [p.addresses[name]], settings.client, timeout_s=settings.call_timeout_s)
        stack.push_async_callback(link.aclose)
        http = HttpMcpServer(http_app(load_factory(name)(link), settings.http, keys))
        port = await http.start()
        stack.push_async_callback(http.stop)
        p.mcp_urls[name] = f"http://127.0.0.1:{port}{settings.http.path}"


async def start_services(
    stack: AsyncExitStack,
    root: Path,
    *,
    site: TestSite | None = None,
    controller_settings: ControllerSettingsFactory = _controller_settings,
) -> Platform:
    """The web site, the fake LLM and the four services on 127.0.0.1, closed with `stack`.

    Args:
        stack: Owns every server started here.
        root: Scratch directory (data dirs, model artifacts).
        site: The web site to serve (default a plain TestSite); routes may be added before.
        controller_settings: Builds the controller's settings from its data dir and the
            other services' addresses.
    """
    artifacts = models_dir(root)
    site = site or TestSite()
    await site.start()
    stack.push_async_callback(site.stop)
    llm = FakeLLM()
    await llm.start()
    stack.push_async_callback(llm.aclose)
    p = Platform(root, site, llm)
    await _start_services(stack, p, artifacts, controller_settings)
    return p


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """Every service and its MCP HTTP endpoint, started once for the package."""
    async with AsyncExitStack() as stack:
        p = await start_services(stack, tmp_path_factory.mktemp("mcp-platform"))
        await _start_mcp_http(stack, p)
        yield p


def structured(result: Any) -> dict[str, Any]:
    """The structured content of a successful tool result (fails the test on a tool error)."""
    assert not result.is_error, result.content[0].text if result.content else result
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def resource_text(result: Any) -> str:
    """The text of a one-part resource read."""
    (content,) = result.contents
    assert isinstance(content, TextResourceContents), content
    return content.text


def error_text(result: Any) -> str:
    """The message of a tool error (fails the test on success)."""
    assert result.is_error, f"expected a tool error, got {result.structured_content!r}"
    return str(result.content[0].text)

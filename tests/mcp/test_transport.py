"""Streamable HTTP authentication and Host/Origin checks; stdio launch keys; the `agentplane mcp` command."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters

from agentplane.auth import ApiKeyStore
from agentplane.mcp import HttpMcpServer, ServiceLink, http_app, load_factory
from realtime.config import RealtimeSettings
from realtime.server import build_server as build_realtime
from tests.mcp.conftest import AGENTPLANE, REPO, Platform, error_text, structured
from tests.support.keys import raw_key
from tests.support.servers import running
from tests.support.settings import test_settings

pytestmark = pytest.mark.asyncio(loop_scope="package")

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def _post(url: str, **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(url, content=json.dumps(INITIALIZE), headers={**ACCEPT, **headers})


async def test_missing_and_wrong_keys_get_401_with_a_clear_reason(platform: Platform) -> None:
    url = platform.mcp_urls["realtime"]
    missing = await _post(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer ")
    assert "Authorization: Bearer <key>" in missing.json()["error_description"]
    wrong = await _post(url, Authorization="Bearer not-a-key")
    assert wrong.status_code == 401 and wrong.json()["reason"] == "API_KEY_INVALID"


async def test_bearer_and_x_api_key_are_both_accepted(platform: Platform) -> None:
    url = platform.mcp_urls["gateway"]
    assert (await _post(url, Authorization=f"Bearer {raw_key('acme-user')}")).status_code == 200
    assert (await _post(url, **{"x-api-key": raw_key("globex-user")})).status_code == 200


async def test_foreign_origin_and_host_are_refused(platform: Platform) -> None:
    url = platform.mcp_urls["realtime"]
    key = f"Bearer {raw_key('acme-user')}"
    assert (await _post(url, Authorization=key, Origin="https://evil.example")).status_code == 403
    assert (await _post(url, Authorization=key, Origin="http://localhost:3000")).status_code == 200
    assert (await _post(url, Authorization=key, Host="evil.example:80")).status_code == 421


async def test_the_sdk_client_cannot_connect_with_a_wrong_key(platform: Platform) -> None:
    with pytest.raises(ExceptionGroup) as failed:
        async with platform.http_client("realtime", None, Authorization="Bearer nope") as client:
            await client.list_tools()
    assert failed.group_contains(MCPError, match="Server returned an error response", depth=None)


async def test_a_stdio_server_with_a_wrong_key_answers_unauthenticated(platform: Platform) -> None:
    params = platform.stdio_params("realtime", "acme-user")
    params.args[params.args.index("--api-key") + 1] = "wrong"
    async with Client(params) as client:
        text = error_text(await client.call_tool("fetch_page", {"url": platform.site.url("/page/policy.html")}))
    assert "UNAUTHENTICATED: invalid API key" in text


async def test_stdio_launch_key_by_name_from_the_credentials_file(platform: Platform, tmp_path: Any) -> None:
    (tmp_path / "credentials.toml").write_text(
        f'[keys.reviewer]\ntenant = "acme"\nkey = "{raw_key("acme-reviewer")}"\n'
    )
    args = ["mcp", "controller", "--as", "reviewer"]
    args += ["--address", platform.addresses["controller"]]
    params = StdioServerParameters(
        command=AGENTPLANE, args=args, env={"AGENTPLANE_DATA_DIR": str(tmp_path)}, cwd=str(REPO)
    )
    async with Client(params) as client:
        page = structured(await client.call_tool("list_reviews", {"page_size": 1}))
    assert isinstance(page["reviews"], list)


async def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        AGENTPLANE,
        "mcp",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
        env={**(env or {}), "PATH": "/usr/bin:/bin"},
    )
    async with asyncio.timeout(60):
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_cli_names_what_is_wrong(tmp_path: Any) -> None:
    unknown, no_key, http_key = await asyncio.gather(
        _cli("nope"),
        _cli("realtime", env={"AGENTPLANE_DATA_DIR": str(tmp_path)}),
        _cli("realtime", "--transport", "http", "--as", "acme-user", "--port", "0"),
    )
    assert unknown[0] == 1 and "no MCP server for 'nope'" in unknown[1] and "realtime" in unknown[1]
    assert no_key[0] == 1 and "no API key" in no_key[1] and "--api-key" in no_key[1]
    assert http_key[0] == 1 and "stdio only" in http_key[1]


async def test_the_services_tenant_limits_apply_to_each_http_caller(platform: Platform, tmp_path: Any) -> None:
    limited = test_settings(
        RealtimeSettings,
        "realtime",
        tmp_path,
        limits={"tenants": {"globex": {"rate_per_s": 0.001, "burst": 1}}},
        ssrf={"allow": [f"127.0.0.1:{platform.site.port}"]},
        watch={"enabled": False},
    )
    assert platform.mcp_settings is not None
    keys = ApiKeyStore.from_settings(platform.mcp_settings.auth, tmp_path)
    url = {"url": platform.site.url("/page/policy.html")}
    async with running(build_realtime(limited)) as address:
        link = ServiceLink("realtime", [address])
        http = HttpMcpServer(http_app(load_factory("realtime")(link), platform.mcp_settings.http, keys))
        port = await http.start()
        platform.mcp_urls["realtime-limited"] = f"http://127.0.0.1:{port}/mcp"
        try:
            async with platform.http_client("realtime-limited", "globex-user") as globex:
                structured(await globex.call_tool("fetch_page", url))
                refused = error_text(await globex.call_tool("fetch_page", url))
            async with platform.http_client("realtime-limited", "acme-user") as acme:
                structured(await acme.call_tool("fetch_page", url))
        finally:
            del platform.mcp_urls["realtime-limited"]
            await http.stop()
            await link.aclose()
    assert "RESOURCE_EXHAUSTED" in refused and "'globex'" in refused and "retry after" in refused

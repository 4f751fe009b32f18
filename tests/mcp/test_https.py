"""An MCP adapter over HTTPS that calls its service over mutual TLS (throwaway CA)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from agentplane.auth import ApiKeyStore
from agentplane.mcp import HttpMcpServer, McpSettings, ServiceLink, http_app, load_factory
from agentplane.settings import ClientSettings
from realtime.config import RealtimeSettings
from realtime.server import build_server as build_realtime
from tests.support.keys import raw_key
from tests.support.pki import Pki
from tests.support.servers import running
from tests.support.settings import test_settings

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _rpc(method: str, params: dict[str, object], ident: int) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})


async def test_the_mcp_adapter_serves_https_and_reaches_its_service_over_mtls(tmp_path: Path):
    pki = Pki.create(tmp_path / "pki")
    service_tls = {**pki.listener_tls("localhost"), "allowed_client_identities": ["mcp-realtime"]}
    realtime = build_realtime(test_settings(RealtimeSettings, "realtime", tmp_path, server={"tls": service_tls}))
    settings = test_settings(
        McpSettings,
        "mcp",
        tmp_path,
        http={"stateless": True, "json_response": True, "tls": pki.listener_tls("localhost", mutual=False)},
    )
    async with running(realtime) as address:
        link = ServiceLink("realtime", [address], ClientSettings(tls=pki.client_tls("mcp-realtime")))
        keys = ApiKeyStore.from_settings(settings.auth, tmp_path)
        server = HttpMcpServer(http_app(load_factory("realtime")(link), settings.http, keys), tls=settings.http.tls)
        port = await server.start()
        try:
            url = f"https://localhost:{port}/mcp"
            headers = {**ACCEPT, "Authorization": f"Bearer {raw_key('acme-user')}", "Host": f"localhost:{port}"}
            async with httpx2.AsyncClient(verify=pki.ssl_context(None)) as http:
                listed = await http.post(url, content=_rpc("tools/list", {}, 1), headers=headers)
                assert listed.status_code == 200, listed.text
                assert "fetch_page" in {t["name"] for t in listed.json()["result"]["tools"]}
                # The call crosses mTLS to realtime, whose SSRF guard refuses loopback before connecting.
                call = _rpc("tools/call", {"name": "fetch_page", "arguments": {"url": "http://127.0.0.1:1/"}}, 2)
                answer = (await http.post(url, content=call, headers=headers)).json()["result"]
            assert answer["isError"] and "TLS" not in answer["content"][0]["text"]
            assert "127.0.0.1" in answer["content"][0]["text"]
            with pytest.raises(httpx2.ConnectError):  # clients that do not trust the adapter's CA
                async with httpx2.AsyncClient() as untrusting:
                    await untrusting.post(url, content=_rpc("tools/list", {}, 3), headers=headers)
        finally:
            await server.stop()
            await link.aclose()

"""`agentplane fetch` against a real server, with the embedded default's credentials."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentplane.cli.main import main as cli_main
from agentplane.platform import ensure_credentials
from realtime.server import build_server
from tests.realtime.conftest import realtime_settings
from tests.realtime.site import TestSite
from tests.support.servers import running


async def test_fetch_command_prints_the_page(
    tmp_path: Path, site: TestSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_credentials(tmp_path)  # keys.toml (hashed, read by the server) and credentials.toml (raw)
    server = build_server(realtime_settings(tmp_path, site))
    monkeypatch.setenv("AGENTPLANE_DATA_DIR", str(tmp_path))
    async with running(server) as address:
        url = site.url("/page/policy.html")
        rc = await asyncio.to_thread(cli_main, ["fetch", url, "--address", address, "--text", "--max-length", "40"])
        out = capsys.readouterr()
        assert rc == 0
        assert out.out.startswith("Returns policy") and len(out.out.strip()) <= 40
        assert "continue with --start-index 40" in out.err
        rc = await asyncio.to_thread(cli_main, ["fetch", "http://10.0.0.1/", "--address", address])
        out = capsys.readouterr()
        assert rc == 1 and "SSRF guard" in out.err

"""`agentplane chat` and `agentplane usage` against a real gateway, with the embedded default's credentials."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentplane.cli.main import main as cli_main
from agentplane.platform import ensure_credentials
from tests.gateway.conftest import running_gateway


async def test_chat_and_usage_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    ensure_credentials(data_dir)
    async with running_gateway(tmp_path, auth={"keys_file": str(data_dir / "keys.toml")}) as gw:
        monkeypatch.setenv("AGENTPLANE_DATA_DIR", str(data_dir))
        monkeypatch.setenv("AGENTPLANE_ENDPOINTS__GATEWAY", f'["{gw.address}"]')
        code = await asyncio.to_thread(cli_main, ["chat", "hello from the cli", "--max-tokens", "20"])
        assert code == 0
        assert "Echo: hello from the cli" in capsys.readouterr().out
        code = await asyncio.to_thread(cli_main, ["chat", "again", "--no-stream", "--as", "globex-user"])
        assert code == 0 and "Echo: again" in capsys.readouterr().out
        code = await asyncio.to_thread(cli_main, ["usage"])
        out = capsys.readouterr().out
        assert code == 0 and "tenant acme" in out and "1 requests" in out
        code = await asyncio.to_thread(cli_main, ["usage", "--as", "nobody"])
        assert code == 1 and "no key named 'nobody'" in capsys.readouterr().err

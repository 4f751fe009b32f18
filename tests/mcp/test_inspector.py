"""The official MCP Inspector (CLI mode) drives `agentplane mcp realtime` over stdio.

The Inspector is installed by `scripts/install_inspector.sh` into .cache/inspector; the
test never downloads it and skips with the reason when node or the package is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from tests.mcp.conftest import AGENTPLANE, REPO, Platform
from tests.support.keys import raw_key

pytestmark = pytest.mark.asyncio(loop_scope="package")

INSPECTOR = REPO / ".cache" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"


async def _inspect(platform: Platform, *method: str) -> dict[str, object]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the MCP Inspector needs node >= 18")
    if not INSPECTOR.exists():
        pytest.skip(f"the MCP Inspector is not installed at {INSPECTOR}: run scripts/install_inspector.sh")
    # The server's settings travel as -e variables: dashed arguments after the command would be the Inspector's.
    server_env = {
        "AGENTPLANE_MCP__API_KEY": raw_key("acme-user"),
        "AGENTPLANE_ENDPOINTS__REALTIME": json.dumps([platform.addresses["realtime"]]),
        "AGENTPLANE_DATA_DIR": str(platform.data_dir),
        "AGENTPLANE_LOG__LEVEL": "warning",
    }
    options = [arg for name, value in server_env.items() for arg in ("-e", f"{name}={value}")]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(REPO))}
    proc = await asyncio.create_subprocess_exec(
        str(INSPECTOR),
        "--cli",
        *options,
        AGENTPLANE,
        "mcp",
        "realtime",
        *method,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
        env=env,
    )
    try:
        async with asyncio.timeout(120):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode()[-2000:]
    doc: dict[str, object] = json.loads(out)
    return doc


async def test_inspector_lists_the_tools(platform: Platform) -> None:
    listed = await _inspect(platform, "--method", "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}  # type: ignore[attr-defined]
    assert set(tools) == {"fetch_page", "extract", "watch_source"}
    assert tools["fetch_page"]["annotations"]["readOnlyHint"] is True
    assert "outputSchema" in tools["fetch_page"]


async def test_inspector_calls_fetch_page(platform: Platform) -> None:
    url = platform.site.url("/page/policy.html")
    called = await _inspect(
        platform,
        "--method",
        "tools/call",
        "--tool-name",
        "fetch_page",
        "--tool-arg",
        f"url={url}",
        "--tool-arg",
        "max_length=50",
    )
    assert called.get("isError") in (None, False)
    assert called["structuredContent"]["title"] == "Returns policy"  # type: ignore[index]

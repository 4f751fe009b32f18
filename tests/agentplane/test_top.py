"""`agentplane top` against the running platform, and Triton's own metrics re-exported by domain inference."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from rich.console import Console

from agentplane.cli.top import TopView, render
from agentplane.metrics import Window, scrape
from agentplane.rpc import ServiceChannel, unary
from agentplane.v1 import controller_pb2, controller_pb2_grpc
from tests.deploy.test_observability_assets import TRITON_METRICS
from tests.support.platform import SERVICES, Platform

pytestmark = pytest.mark.slow
AGENTPLANE = str(Path(sys.executable).with_name("agentplane"))


async def _submit_general(platform: Platform) -> controller_pb2.Task:
    async with ServiceChannel([platform.address("controller")], api_key=platform.key("acme-user")) as ch:
        stub = controller_pb2_grpc.TaskControllerStub(ch.channel)
        request = controller_pb2.SubmitTaskRequest(text="What is an index fund?", task_type="general")
        return await unary(stub.SubmitTask, request, timeout_s=60)


async def test_top_prints_a_frame_of_the_running_platform(platform: Platform) -> None:
    task = await _submit_general(platform)
    assert task.state == controller_pb2.TASK_STATE_COMPLETED
    proc = await asyncio.create_subprocess_exec(
        AGENTPLANE,
        "top",
        "--once",
        "--interval-s",
        "1",
        "--width",
        "150",
        env=platform.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(60):
        out = (await proc.communicate())[0].decode()
    assert proc.returncode == 0, out
    service_rows = [line for line in out.splitlines() if any(f" {s} " in line for s in SERVICES)]
    assert len(service_rows) >= 4 and all("up" in row for row in service_rows[:4]), out
    assert "controller tasks" in out and "LLM" in out  # the route of the task above
    assert "cache hit ratio" in out and "queue" in out and "escalation rate" in out
    assert "circuit breakers" in out and "domain_inference.triton" in out and "closed" in out


async def test_domain_inference_reexports_tritons_own_metrics_unchanged(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(platform.metrics_url("domain_inference")) as resp:
            text = await resp.text()
    # Triton's series keep their names (a counter is `nv_inference_count`, not `..._total`).
    served = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line.startswith("nv_")}
    assert served >= TRITON_METRICS, sorted(served)
    assert "agentplane_inference_triton_up 1.0" in text


async def test_a_frame_renders_from_real_scrapes(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        before = {s: await scrape(http, platform.metrics_url(s)) for s in SERVICES}
        await _submit_general(platform)
        after = {s: await scrape(http, platform.metrics_url(s)) for s in SERVICES}
    view = TopView({s: Window(before[s], after[s]) for s in SERVICES}, {}, 1.0)
    console = Console(record=True, width=160, color_system=None)
    console.print(render(view))
    frame = console.export_text()
    row = next(line for line in frame.splitlines() if " controller " in line)
    assert float(row.split("│")[2]) > 0  # calls/s of the controller over the window
    assert "LLM" in frame

"""`agentplane up` on its embedded defaults: llama.cpp + SmolLM2, Triton, four services SERVING, clean stop."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from agentplane.rpc import ServiceChannel, stream, unary
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from agentplane.v1 import controller_pb2_grpc
from tests.support.models import models_dir
from tests.support.platform import ROOT, SERVICES, Platform, start_platform, stop_platform_process

pytestmark = pytest.mark.slow


def test_up_brings_the_four_services_to_serving_and_stops_them_cleanly(tmp_path: Path):
    platform = start_platform(tmp_path / "data", models_dir(tmp_path), embedded_llm=True)
    children = {name: platform.pid(name) for name in (*SERVICES, "llm", "triton")}
    try:
        status = subprocess.run(
            [sys.executable, "-m", "agentplane.cli", "status"],
            env=platform.env(), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert status.returncode == 0, status.stdout + status.stderr
        lines = status.stdout.strip().splitlines()
        assert len(lines) == 4 and all(line.split()[-1] == "SERVING" for line in lines), lines
        chat = subprocess.run(
            [sys.executable, "-m", "agentplane.cli", "chat", "Say hello.", "--no-stream", "--as", "acme-user"],
            env=platform.env(), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert chat.returncode == 0 and chat.stdout.strip(), chat.stdout + chat.stderr
        asyncio.run(_forty_llm_tasks_in_flight(platform))
        # SIGTERM with the 40 tasks running: the controller cancels them, and every process,
        # llama.cpp included, must stop by itself (issue #22: llama.cpp was once SIGKILLed here).
        platform.process.send_signal(signal.SIGTERM)
        rest, _ = platform.process.communicate(timeout=180)
        stopped = [line for line in rest.decode().splitlines() if "stopped: " in line]
        assert stopped, rest.decode()
        codes = dict(item.split("=") for item in stopped[-1].split("stopped: ", 1)[1].split(", "))
        assert set(codes) == {*SERVICES, "llm", "triton", "pages"}
        assert not [name for name, c in codes.items() if c == str(-signal.SIGKILL)], stopped[-1]
        assert "did not stop within" not in rest.decode()
    finally:
        code = stop_platform_process(platform.process)
    assert code == 0
    assert not [name for name, pid in children.items() if psutil.pid_exists(pid)]
    assert not list((platform.data_dir / "run").glob("*.pid"))


async def _forty_llm_tasks_in_flight(platform: Platform) -> None:
    """Submit 40 general tasks and return once every one has its LLM step under way."""
    async with ServiceChannel([platform.address("controller")], api_key=platform.key("acme-user")) as channel:
        stub = controller_pb2_grpc.TaskControllerStub(channel.channel)

        async def started(i: int) -> None:
            text = f"Write a long story about lighthouse number {i}."
            task = await unary(stub.SubmitTask, C.SubmitTaskRequest(text=text, task_type="general", no_wait=True))
            async for event in stream(stub.StreamTask, C.StreamTaskRequest(task_id=task.task_id), timeout_s=120):
                if event.type == C.TASK_EVENT_TYPE_STEP_STARTED:
                    return
                assert event.type in (C.TASK_EVENT_TYPE_RECEIVED, C.TASK_EVENT_TYPE_ANALYSED), event

        await asyncio.gather(*(started(i) for i in range(40)))

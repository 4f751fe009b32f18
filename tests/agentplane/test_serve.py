"""`agentplane serve <process>`: the container entry point runs the service as its own process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentplane.cli.main import main
from agentplane.cli.serve import serve_argv
from agentplane.errors import InvalidArgumentError
from agentplane.platform import PlatformSettings
from tests.support.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]


def test_serve_argv_runs_the_module_of_the_process_table():
    settings = PlatformSettings()
    assert serve_argv(settings, "domain-inference", python="py") == ["py", "-m", "domain_inference.server"]
    assert serve_argv(settings, "llm", python="py") == ["py", "-m", "gateway.embedded_llm"]
    known = r"no process named 'nope'; known: .*controller, domain_inference, gateway, llm, realtime"
    with pytest.raises(InvalidArgumentError, match=known):
        serve_argv(settings, "nope")


def test_an_unknown_process_is_a_clear_error(capsys: pytest.CaptureFixture[str]):
    assert main(["serve", "nope"]) == 1
    assert "no process named 'nope'" in capsys.readouterr().err


async def test_serve_becomes_the_service_and_drains_on_sigterm(tmp_path: Path):
    port = free_ports(1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPLANE_")}
    env |= {
        "AGENTPLANE_DATA_DIR": str(tmp_path),
        "AGENTPLANE_REALTIME__SERVER__PORT": str(port),
        "PYTHONPATH": str(ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentplane.cli", "serve", "realtime", env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            request = health_pb2.HealthCheckRequest(service="agentplane.v1.RealtimeData")
            watch = health_pb2_grpc.HealthStub(channel).Watch(request, timeout=60, wait_for_ready=True)
            async for answer in watch:
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            watch.cancel()
        # The same PID now runs the service module: SIGTERM reaches the service itself.
        assert psutil.Process(proc.pid).cmdline()[1:3] == ["-m", "realtime.server"]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

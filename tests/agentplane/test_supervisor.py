"""The supervisor behind `agentplane up`: dependency order, health wait, restart, clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil

from agentplane.supervisor import HealthProbe, ProcessSpec, Supervisor, grpc_health_status
from tests.agentplane.probe_service import SERVICE
from tests.support.keys import auth_overrides
from tests.support.ports import free_ports

ROOT = Path(__file__).parents[2]


def _probe_spec(name: str, port: int, tmp: Path, depends_on: tuple[str, ...] = ()) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=(sys.executable, "-m", "tests.agentplane.probe_service"),
        env={
            "PYTHONPATH": str(ROOT),
            "AGENTPLANE_DATA_DIR": str(tmp),
            "AGENTPLANE_AUTH": json.dumps(auth_overrides()["auth"]),
            "AGENTPLANE_PROBE__SERVER__PORT": str(port),
            "AGENTPLANE_PROBE__SERVER__GRACE_PERIOD_S": "1",
        },
        probe=HealthProbe("grpc", f"127.0.0.1:{port}", SERVICE),
        depends_on=depends_on,
        start_timeout_s=30,
        stop_grace_s=10,
    )


async def test_processes_start_in_order_restart_after_a_crash_and_stop_cleanly(tmp_path: Path):
    front_port, back_port = free_ports(2)
    events: list[tuple[str, str]] = []
    sup = Supervisor(
        [_probe_spec("front", front_port, tmp_path, ("back",)), _probe_spec("back", back_port, tmp_path)],
        tmp_path / "logs",
        pid_dir=tmp_path / "run",
        max_backoff_s=0.5,
        on_event=lambda name, event: events.append((name, event)),
    )
    await sup.start(timeout_s=60)
    try:
        healthy = [name for name, event in events if event == "healthy"]
        assert healthy == ["back", "front"]  # front waited for back
        for port in (front_port, back_port):
            assert await grpc_health_status(f"127.0.0.1:{port}", SERVICE) == "SERVING"
        pid = int((tmp_path / "run" / "back.pid").read_text())
        assert pid == sup.pids()["back"]

        os.kill(pid, signal.SIGKILL)
        await sup.wait_healthy("back", restarted_from=pid, timeout_s=60)
        assert sup.restarts()["back"] == 1
        assert await grpc_health_status(f"127.0.0.1:{back_port}", SERVICE) == "SERVING"
    finally:
        codes = await sup.stop()
    assert codes == {"front": 0, "back": 0}  # SIGTERM drained both; no SIGKILL needed
    assert not list((tmp_path / "run").glob("*.pid"))


STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"]
subprocess.Popen(child)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_a_process_that_ignores_sigterm_is_killed_with_its_children_after_its_grace(tmp_path: Path):
    spec = ProcessSpec(name="stubborn", argv=(sys.executable, "-c", STUBBORN), stop_grace_s=1)
    sup = Supervisor([spec], tmp_path / "logs")
    await sup.start(timeout_s=30)
    try:
        pid = sup.pids()["stubborn"]
        assert pid is not None
        deadline = time.monotonic() + 30
        while not psutil.Process(pid).children():
            assert time.monotonic() < deadline, "the stubborn process did not start its child"
            await asyncio.sleep(0.05)  # polling another process's children under a bounded deadline
        (child,) = psutil.Process(pid).children()
    finally:
        codes = await sup.stop()
    assert codes == {"stubborn": -signal.SIGKILL}
    deadline = time.monotonic() + 10  # SIGKILL reaches the rest of the group asynchronously
    while not _gone(child.pid):
        assert time.monotonic() < deadline, "the child of a killed process must not outlive it"
        await asyncio.sleep(0.05)

"""The supervisor behind `agentplane up`: dependency order, health wait, restart, clean stop."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

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

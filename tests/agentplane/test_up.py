"""`agentplane up` on its embedded defaults: llama.cpp + SmolLM2, Triton, four services SERVING, clean stop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support.models import models_dir
from tests.support.platform import ROOT, SERVICES, start_platform, stop_platform_process

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
    finally:
        code = stop_platform_process(platform.process)
    assert code == 0
    assert not [name for name, pid in children.items() if psutil.pid_exists(pid)]
    assert not list((platform.data_dir / "run").glob("*.pid"))

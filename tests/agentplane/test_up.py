"""`agentplane up` as `make run` starts it, walked through README's quickstart (scripts/quickstart_walk.py).

The walk runs in a fresh loopback-only network namespace, so the default ports are free:
llama.cpp + SmolLM2, Triton, the four services and the sample site come up, every
quickstart command runs exactly as written, and SIGTERM with 40 LLM tasks in flight stops
every process by itself (issue #22: llama.cpp was once SIGKILLed there).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.models import models_dir
from tests.support.platform import ROOT

pytestmark = pytest.mark.slow


def _netns_available() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


def test_the_quickstart_runs_as_written_and_the_platform_stops_cleanly(tmp_path: Path) -> None:
    if not _netns_available():
        pytest.skip("needs `unshare -n` and `ip` (root) to run `make run`'s platform on its default ports")
    walk = subprocess.run(
        [sys.executable, "scripts/quickstart_walk.py", "--data-dir", str(tmp_path / "data"),
         "--models-dir", str(models_dir(tmp_path))],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert walk.stdout.strip(), walk.stderr[-3000:]
    result = json.loads(walk.stdout)
    failed = [s for s in result["steps"] if not s["ok"]]
    assert not failed, json.dumps(failed, indent=2)
    names = [s["name"] for s in result["steps"]]
    assert names[0] == "agentplane up (as make run)" and names[-1] == "SIGTERM with 40 LLM tasks in flight"
    assert sum(name.startswith("$ .venv/bin/agentplane") for name in names) >= 7
    assert walk.returncode == 0

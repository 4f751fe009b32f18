"""A short Locust smoke load over gRPC against the platform: no failures but expected refusals."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.shapes import scenario_stages
from loadtest.task_mix import TaskMix
from tests.support.platform import Platform

pytestmark = pytest.mark.slow


def test_a_20_second_mixed_load_has_no_failures_other_than_rate_limit_refusals(platform: Platform, tmp_path: Path):
    out = tmp_path / "smoke"
    result = subprocess.run(
        [
            sys.executable, "-m", "loadtest.run",
            "--user", "ControllerUser",
            "--host", platform.address("controller"),
            "--scenario", "steady", "--peak-users", "8", "--duration-s", "20",
            "--credentials", str(platform.data_dir / "credentials.toml"),
            "--key-names", "acme-user,globex-user",
            "--realtime-base-url", platform.pages_url,
            "--out", str(out),
        ],
        env=platform.env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    stats = {row["Name"]: row for row in csv.DictReader((tmp_path / "smoke_stats.csv").read_text().splitlines())}
    failures = list(csv.DictReader((tmp_path / "smoke_failures.csv").read_text().splitlines()))
    assert int(stats["Aggregated"]["Request Count"]) > 50, result.stdout[-2000:]
    unexpected = [f for f in failures if "RESOURCE_EXHAUSTED" not in f["Error"]]
    assert not unexpected, unexpected
    kinds = {name for name in stats if name.startswith("SubmitTask[")}
    assert kinds == {"SubmitTask[domain]", "SubmitTask[llm]", "SubmitTask[realtime]"}, kinds
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1 = Locust saw refusals


def test_scenarios_are_bounded_and_the_mix_parses():
    for name in ("steady", "spike", "soak"):
        stages = scenario_stages(name, 40, 60)
        assert stages[-1].until_s == 60 and max(s.users for s in stages) <= 40
    mix = TaskMix.parse("domain=70,llm=20,realtime=10", "http://127.0.0.1:1")
    assert (mix.domain, mix.llm, mix.realtime) == (70, 20, 10)
    with pytest.raises(ValueError, match="unknown"):
        TaskMix.parse("video=1", "http://x")

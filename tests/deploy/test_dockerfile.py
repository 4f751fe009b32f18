"""The Dockerfile, checked without a Docker daemon (none runs here; images cannot be built).

hadolint (pinned, from its wheel) lints it; then our own rules: the runtime image runs as an
unprivileged user with `agentplane` as its entry point, and every path the build copies from the
context survives .dockerignore.
"""

from __future__ import annotations

import fnmatch
import shlex
import subprocess
import sys
from pathlib import Path

from tests.deploy.manifests import ROOT

HADOLINT = Path(sys.executable).parent / "hadolint"


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _ignored(path: str) -> bool:
    """.dockerignore semantics for the patterns we use: the last matching pattern decides."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        if pattern == "**" or fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            ignored = not negate
    return ignored


def test_hadolint_finds_nothing():
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install .\n")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0 and "DL3007" in result.stdout  # :latest is refused


def test_the_runtime_image_runs_agentplane_as_an_unprivileged_user():
    instructions = _instructions()
    runtime = instructions[max(i for i, (op, arg) in enumerate(instructions) if op == "FROM") :]
    assert runtime[0][1].endswith("AS runtime"), "the last stage (the default target) is the runtime image"
    users = [arg for op, arg in runtime if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    entrypoint = next(arg for op, arg in runtime if op == "ENTRYPOINT")
    assert entrypoint.endswith('"agentplane"]') and "tini" in entrypoint
    assert next(arg for op, arg in runtime if op == "CMD").startswith('["serve"')
    assert not [arg for op, arg in runtime if op == "COPY" and "--from" not in arg], "runtime copies only built stages"


def test_every_path_the_build_copies_is_in_the_build_context():
    copied = [
        source
        for op, arg in _instructions()
        if op == "COPY" and "--from" not in arg
        for source in shlex.split(arg)[:-1]
    ]
    assert copied
    for source in copied:
        path = source.rstrip("/")
        assert (ROOT / path).exists(), f"COPY {source}: no such path"
        assert not _ignored(path), f"COPY {source}: excluded by .dockerignore"
    assert _ignored(".venv") and _ignored(".git") and _ignored("tests") and _ignored(".agentplane")

"""The controller's CLI through its real entry point (`agentplane`), against the running platform."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from controller import audit_verifier
from tests.support.platform import ROOT, Platform

pytestmark = pytest.mark.slow

AGENTPLANE = str(Path(ROOT) / ".venv" / "bin" / "agentplane")
ARTICLE = (
    "Shares in the retailer jumped 9% after it reported record half-year profits, raised its dividend "
    "and said sales in its stores had grown faster than analysts expected."
)


def cli(platform: Platform, *args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run `agentplane ARGS` as a user would (the console script), with the platform's configuration."""
    done = subprocess.run(
        [AGENTPLANE, *args], input=stdin, env=platform.env(), cwd=ROOT, capture_output=True, timeout=120, check=False
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_text_that_is_not_utf8_gets_a_clear_error_not_a_traceback(platform: Platform, tmp_path: Path) -> None:
    done = cli(platform, "submit", b"a\x85b")
    assert done.returncode == 1
    assert "the task text (argument) is not valid UTF-8: byte 0x85 at offset 1" in done.stderr
    assert "Traceback" not in done.stderr
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 prices rose".encode("latin-1"))
    done = cli(platform, "submit", "--file", str(latin1))
    assert done.returncode == 1 and f"({latin1}) is not valid UTF-8: byte 0xe9 at offset 3" in done.stderr
    done = cli(platform, "submit", "-", stdin=b"\xff\xfe")
    assert done.returncode == 1 and "(stdin) is not valid UTF-8: byte 0xff at offset 0" in done.stderr
    done = cli(platform, "submit")
    assert done.returncode == 1 and "no task text" in done.stderr


def test_a_one_megabyte_text_is_submitted_from_a_file_and_from_stdin(platform: Platform, tmp_path: Path) -> None:
    text = (ARTICLE + "\n") * (1_000_000 // (len(ARTICLE) + 1) + 1)
    big = tmp_path / "big.txt"
    big.write_text(text, encoding="utf-8")
    assert big.stat().st_size >= 1_000_000
    done = cli(platform, "submit", "--file", str(big), "--type", "classify", "--json")
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)
    assert task["state"] == "TASK_STATE_COMPLETED" and task["result"]["answer"] == "Topic: business"
    done = cli(platform, "submit", "-", "--type", "classify", stdin=text.encode())
    assert done.returncode == 0, done.stderr
    assert "answer: Topic: business" in done.stdout


def test_follow_prints_the_events_as_progress(platform: Platform) -> None:
    done = cli(platform, "submit", ARTICLE, "--type", "classify", "--follow")
    assert done.returncode == 0, done.stderr
    kinds = [line.split("] ", 1)[1].split()[0] for line in done.stderr.splitlines() if line.startswith("[")]
    assert kinds[0] == "RECEIVED" and kinds[-1] == "COMPLETED", done.stderr
    assert {"ANALYSED", "STEP_STARTED", "STEP_DONE", "CONFIDENCE"} <= set(kinds)
    assert "answer: Topic: business" in done.stdout


def test_an_exported_trail_verifies_offline_and_tampering_after_signing_is_caught(
    platform: Platform, tmp_path: Path
) -> None:
    assert cli(platform, "submit", ARTICLE, "--type", "classify", "--as", "globex-user").returncode == 0
    export, key = tmp_path / "globex.jsonl", tmp_path / "audit.pub"
    done = cli(platform, "audit", "export", "--out", str(export), "--as", "globex-user")
    assert done.returncode == 0, done.stderr
    done = cli(platform, "audit", "public-key", "--out", str(key))
    assert done.returncode == 0 and key.read_text().startswith("-----BEGIN PUBLIC KEY-----"), done.stderr
    done = cli(platform, "audit", "verify", "--export", str(export), "--public-key", str(key))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("audit export of globex valid:")
    lines = export.read_text(encoding="utf-8").splitlines()
    header, last = json.loads(lines[0]), json.loads(lines[-1])
    assert header["tenant"] == "globex" and last["kind"] == "anchor"
    events = [json.loads(line) for line in lines if '"kind":"event"' in line]
    assert last["statement"]["sequence"] == events[-1]["record"]["sequence"]
    # A forger with the database edits one event and recomputes every later hash: only the signature tells.
    events[0]["record"]["actor"] = "nobody"
    prev = ""
    for doc in events:
        doc["prev_hash"], doc["hash"] = prev, audit_verifier.event_hash(prev, doc["record"])
        prev = doc["hash"]
    anchors = [line for line in lines if '"kind":"anchor"' in line]
    export.write_text("\n".join([lines[0], *map(json.dumps, events), *anchors]) + "\n", encoding="utf-8")
    done = cli(platform, "audit", "verify", "--export", str(export), "--public-key", str(key))
    assert done.returncode == 4
    assert "does not match the chain (changed after signing)" in done.stderr
    assert cli(platform, "audit", "verify", "--export", str(export), "--chain-only").returncode == 0

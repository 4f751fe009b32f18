"""Walk README's quickstart as a new user would, on the platform `make run` starts.

Runs inside a fresh loopback-only network namespace (`unshare -n`; `--no-netns` to skip),
so the default ports (50051-50054, 8080, 8090, 8471, 18000-18002) are free and nothing can
leave the machine. Steps:

1. `agentplane up` with nothing configured, as `make run` runs it after its set-up, on a
   fresh data directory (first start: credentials are written);
2. every command of README's Quickstart block, exactly as written (cwd = the repository,
   `.venv/bin` on PATH), each checked: its exit code (0, or 3 for a task that went to a
   reviewer or asks a question), no traceback, and what it must show;
3. SIGTERM with 40 LLM tasks in flight: every process must stop by itself (no SIGKILL)
   and leave nothing running.

Prints one JSON object with every step and its result; exits 0 when all passed.
`tests/agentplane/test_up.py` runs it in `make test`.

Usage: .venv/bin/python scripts/quickstart_walk.py [--data-dir DIR] [--models-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from agentplane.platform import load_credentials
from agentplane.rpc import ServiceChannel, stream, unary
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from agentplane.v1 import controller_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONTROLLER = "127.0.0.1:50051"
# What each quickstart command must show, by a pattern of the command line.
EXPECTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"agentplane status$", ("controller", "gateway", "domain_inference", "realtime", "SERVING")),
    (r"--type classify", ("COMPLETED", "route DOMAIN", "answer: Topic: business")),
    (r'submit "http://127\.0\.0\.1:8090/rates\.html"', ("COMPLETED", "route REALTIME", "Exchange rates")),
    (r"8090/rates\.html \?", ("route REALTIME_LLM",)),
    (r"audit verify$", ("audit trail valid",)),
)


@dataclass
class Step:
    """One step of the walk and how it went."""

    name: str
    ok: bool = False
    detail: str = ""
    output: str = ""


@dataclass
class Walk:
    """The whole walk."""

    steps: list[Step] = field(default_factory=list)

    def add(self, step: Step) -> Step:
        """Record `step`; return it."""
        self.steps.append(step)
        return step

    @property
    def ok(self) -> bool:
        """Whether every step passed."""
        return bool(self.steps) and all(s.ok for s in self.steps)


def quickstart_commands(readme: str) -> list[str]:
    """The commands of README's Quickstart section, as written (not `make`, which this walk stands for)."""
    section = readme.split("\n## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "make "))]


def _wait_line(proc: subprocess.Popen[bytes], prefix: str, timeout_s: float, seen: list[str]) -> bool:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline().decode(errors="replace")
            if not line:
                return False
            seen.append(line)
            if line.startswith(prefix):
                return True
        elif proc.poll() is not None:
            return False
    return False


def run_command(line: str, env: dict[str, str]) -> Step:
    """Run one quickstart line with bash, as a user pastes it, and check what it shows."""
    done = subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    step = Step(f"$ {line}", output=output[-2000:])
    if done.returncode not in (0, 3):
        step.detail = f"exit code {done.returncode}"
    elif "Traceback" in output:
        step.detail = "printed a traceback"
    else:
        wanted = [want for pattern, wants in EXPECTED if re.search(pattern, line) for want in wants]
        missing = [want for want in wanted if want not in output]
        step.detail = f"missing from the output: {missing}" if missing else f"exit code {done.returncode}"
        step.ok = not missing
    return step


async def llm_tasks_in_flight(api_key: str, count: int) -> None:
    """Submit `count` general tasks; return once every one has its LLM step under way."""
    async with ServiceChannel([CONTROLLER], api_key=api_key) as channel:
        stub = controller_pb2_grpc.TaskControllerStub(channel.channel)

        async def started(i: int) -> None:
            text = f"Write a long story about lighthouse number {i}."
            task = await unary(stub.SubmitTask, C.SubmitTaskRequest(text=text, task_type="general", no_wait=True))
            async for event in stream(stub.StreamTask, C.StreamTaskRequest(task_id=task.task_id), timeout_s=120):
                if event.type == C.TASK_EVENT_TYPE_STEP_STARTED:
                    return
                if event.type not in (C.TASK_EVENT_TYPE_RECEIVED, C.TASK_EVENT_TYPE_ANALYSED):
                    raise RuntimeError(f"task {i} ended before its LLM step: {event}")

        await asyncio.gather(*(started(i) for i in range(count)))


def stop_with_tasks_in_flight(up: subprocess.Popen[bytes], data_dir: Path) -> Step:
    """SIGTERM `up` while 40 LLM tasks run; every process must stop by itself and leave nothing behind."""
    step = Step("SIGTERM with 40 LLM tasks in flight")
    pids = {p.stem: int(p.read_text()) for p in (data_dir / "run").glob("*.pid")}
    asyncio.run(llm_tasks_in_flight(load_credentials(data_dir).key_for("acme-user"), 40))
    up.send_signal(signal.SIGTERM)
    rest, _ = up.communicate(timeout=240)
    output = rest.decode(errors="replace")
    step.output = output[-2000:]
    stopped = [line for line in output.splitlines() if "stopped: " in line]
    if not stopped:
        step.detail = "up printed no exit codes"
        return step
    codes = dict(item.split("=", 1) for item in stopped[-1].split("stopped: ", 1)[1].split(", "))
    killed = [name for name, code in codes.items() if code == str(-signal.SIGKILL)]
    left = [name for name, pid in pids.items() if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    step.detail = f"exit codes {codes}; up exited {up.returncode}"
    step.ok = not killed and not left and up.returncode == 0 and len(codes) == len(pids)
    if killed or left:
        step.detail += f"; killed: {killed}; still running: {left}"
    return step


def walk(data_dir: Path, models_dir: Path | None) -> Walk:
    """Start the platform, run the quickstart, stop it; return every step."""
    result = Walk()
    env = {
        **os.environ,
        "AGENTPLANE_DATA_DIR": str(data_dir),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("AGENTPLANE_CONFIG", None)
    if models_dir is not None:
        env["AGENTPLANE_DOMAIN_INFERENCE__MODELS_DIR"] = str(models_dir)
    # Unbuffered: a buffered readline could take two lines at once, and select() would then
    # wait on a pipe whose next line is already read.
    up = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "agentplane"), "up"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, bufsize=0,
    )  # fmt: skip
    seen: list[str] = []
    try:
        start = result.add(Step("agentplane up (as make run)"))
        start.ok = _wait_line(up, "agentplane is up", 600, seen)
        start.output = "".join(seen[-30:])
        if not start.ok:
            return result
        for line in quickstart_commands(README.read_text()):
            result.add(run_command(line, env))
        result.add(stop_with_tasks_in_flight(up, data_dir))
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(240)
    return result


def main() -> int:
    """Parse the flags, re-run inside a network namespace, walk, print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="a fresh data directory (default: a temporary one)")
    parser.add_argument("--models-dir", type=Path, default=None, help="built models (default: <data-dir>/models)")
    parser.add_argument("--no-netns", action="store_true", help="use the machine's network (the ports must be free)")
    parser.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.no_netns and not args.in_netns:
        inner = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv, "--in-netns"])
        return subprocess.call(["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {inner}"])
    with tempfile.TemporaryDirectory(prefix="quickstart-") as scratch:
        data_dir = args.data_dir or Path(scratch) / "data"
        result = walk(data_dir, args.models_dir)
    print(json.dumps({"ok": result.ok, "steps": [asdict(s) for s in result.steps]}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""A real Triton for tests: the launcher as a subprocess on free loopback ports, shared by the session.

Starts `python -m domain_inference.triton_launcher` (which generates the repository from the
artifacts and runs the bundled tritonserver), waits (bounded) on its HTTP ready endpoint,
and stops it by PID with SIGTERM. `shared_triton` keeps one instance in the pytest config's
stash, so every test module that asks for it gets the same server and it is stopped once,
at the end of the session.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from domain_inference.adapters.triton import ModelStatistics, TritonBackend

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free on 127.0.0.1 a moment ago."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class TritonUnderTest:
    """One launcher process and its ports."""

    artifacts: Path
    data_dir: Path
    dynamic_batching: bool = True
    ports: list[int] = field(default_factory=lambda: free_ports(3))
    process: subprocess.Popen[bytes] | None = None

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.ports[1]}"

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}/v2/health/ready"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "triton.log"

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "domain_inference.triton_launcher"]
        argv += ["--http-port", str(self.ports[0]), "--grpc-port", str(self.ports[1])]
        argv += ["--metrics-port", str(self.ports[2])]
        if not self.dynamic_batching:
            argv.append("--no-dynamic-batching")
        return argv

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPLANE_")}
        env["AGENTPLANE_DATA_DIR"] = str(self.data_dir)
        env["AGENTPLANE_DOMAIN_INFERENCE__MODELS_DIR"] = str(self.artifacts)
        env["AGENTPLANE_LOG__LEVEL"] = "warning"
        return env

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> TritonUnderTest:
        """Start the launcher and wait until Triton reports ready.

        Raises:
            RuntimeError: The launcher exited or Triton was not ready in time (log tail included).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.argv(), env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.is_ready():
                return self
            try:
                code = self.process.wait(timeout=0.1)  # paces the probe and notices an early exit
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"triton launcher exited with {code}:\n{self.log_tail()}")
        self.stop()
        raise RuntimeError(f"Triton not ready within {timeout_s:.0f}s:\n{self.log_tail()}")

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.ready_url, timeout=1.0) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM by PID; SIGKILL if it outlives `timeout_s`. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


_SHARED = pytest.StashKey[TritonUnderTest]()


def shared_triton(config: pytest.Config, artifacts: Path, data_dir: Path) -> TritonUnderTest:
    """The session's Triton (dynamic batching on), started on first use, stopped at session end."""
    triton = config.stash.get(_SHARED, None)
    if triton is None:
        started = TritonUnderTest(artifacts, data_dir).start()
        config.stash[_SHARED] = started

        def stop() -> None:
            started.stop()

        config.add_cleanup(stop)
        return started
    return triton


async def settled_statistics(
    stats: TritonBackend, model: str, *, requests: int, timeout_s: float = 30.0
) -> ModelStatistics:
    """The model's counters once at least `requests` requests are counted.

    Triton counts a composing model's request after the ensemble has already answered, so
    under load the last request can be missing from a read taken right after the replies.
    Triton has no event for it: re-read under a bounded deadline.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        current = await stats.statistics(model)
        if current.requests >= requests or asyncio.get_running_loop().time() > deadline:
            return current
        await asyncio.sleep(0.05)

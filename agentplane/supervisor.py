"""Process supervisor behind `agentplane up`: start, health-wait, restart, stop.

Layer: shared core. Knows processes only as argv, environment and a health probe
(gRPC health service or an HTTP URL); it imports no service. Each process is
started after the processes it depends on are healthy, restarted with exponential
backoff when it exits unexpectedly, and stopped in reverse order with SIGTERM.
Each process leads its own process group; one that outlives its grace period is
SIGKILLed with its whole group, so no child of it (Triton's backend stubs, say) is
left behind, and the stop always ends within the sum of the grace periods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentplane.rpc.credentials import open_channel
from agentplane.settings import ClientTlsSettings

__all__ = ["HealthProbe", "ProcessSpec", "Supervisor", "grpc_health_status", "http_ready"]

log = logging.getLogger("agentplane.supervisor")


@dataclass(frozen=True)
class HealthProbe:
    """How to tell that a process is ready: gRPC health of a service, or an HTTP 200."""

    kind: str  # "grpc" | "http" | "none"
    address: str = ""
    """host:port for gRPC; full URL for HTTP."""
    service: str = ""
    """gRPC service name to check ("" = whole server)."""
    tls: ClientTlsSettings = field(default_factory=ClientTlsSettings)
    """gRPC: how to dial the service (TLS when its server serves TLS)."""


@dataclass(frozen=True)
class ProcessSpec:
    """One supervised process."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    probe: HealthProbe = HealthProbe("none")
    depends_on: tuple[str, ...] = ()
    start_timeout_s: float = 60.0
    stop_grace_s: float = 15.0


async def grpc_health_status(
    address: str, service: str = "", timeout_s: float = 2.0, tls: ClientTlsSettings | None = None
) -> str:
    """The serving status name of `service` at `address` ("UNREACHABLE" when no answer)."""
    async with open_channel(address, tls or ClientTlsSettings()) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            resp = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            unreachable = exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            return "UNREACHABLE" if unreachable else str(exc.code().name)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))


async def http_ready(url: str, timeout_s: float = 5.0) -> bool:
    """Whether GET `url` answers 200."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
            async with session.get(url) as resp:
                return resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def _probe(probe: HealthProbe) -> bool:
    if probe.kind == "grpc":
        return await grpc_health_status(probe.address, probe.service, tls=probe.tls) == "SERVING"
    if probe.kind == "http":
        return await http_ready(probe.address)
    return True


@dataclass
class _Managed:
    spec: ProcessSpec
    proc: asyncio.subprocess.Process | None = None
    healthy: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: int = 0
    task: asyncio.Task[None] | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def mark(self, healthy: bool) -> None:
        async with self.changed:
            if healthy:
                self.healthy.set()
            else:
                self.healthy.clear()
            self.changed.notify_all()


class Supervisor:
    """Runs a set of processes until `stop()`.

    Args:
        specs: Processes, in any order (dependencies decide the start order).
        log_dir: Each process's stdout and stderr go to `<log_dir>/<name>.log`.
        pid_dir: When given, each running process's PID is kept in `<pid_dir>/<name>.pid`.
        max_backoff_s: Longest wait between restarts.
        on_event: Called with (process name, event) for "started", "healthy", "exited", "restarting".
    """

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        log_dir: Path,
        *,
        pid_dir: Path | None = None,
        max_backoff_s: float = 30.0,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        names = {s.name for s in specs}
        for spec in specs:
            missing = set(spec.depends_on) - names
            if missing:
                raise ValueError(f"{spec.name} depends on unknown processes: {sorted(missing)}")
        self._procs = {s.name: _Managed(s) for s in specs}
        self._log_dir = log_dir
        self._pid_dir = pid_dir
        self._max_backoff_s = max_backoff_s
        self._on_event = on_event or (lambda name, event: None)
        self._stopping = asyncio.Event()

    def pids(self) -> dict[str, int | None]:
        """Current PID of each process (None while not running)."""
        return {n: (m.proc.pid if m.proc and m.proc.returncode is None else None) for n, m in self._procs.items()}

    def restarts(self) -> dict[str, int]:
        """Restart count of each process."""
        return {n: m.restarts for n, m in self._procs.items()}

    async def start(self, timeout_s: float | None = None) -> None:
        """Start every process and wait until all are healthy.

        Raises:
            TimeoutError: Some process was not healthy in time (its log names why).
        """
        self._log_dir.mkdir(parents=True, exist_ok=True)
        if self._pid_dir is not None:
            self._pid_dir.mkdir(parents=True, exist_ok=True)
        for managed in self._procs.values():
            managed.task = asyncio.create_task(self._run(managed), name=f"supervise-{managed.spec.name}")
        waits = [m.healthy.wait() for m in self._procs.values()]
        limit = timeout_s or max(s.spec.start_timeout_s for s in self._procs.values()) * 2
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout=limit)
        except TimeoutError:
            late = [n for n, m in self._procs.items() if not m.healthy.is_set()]
            raise TimeoutError(f"not healthy within {limit:.0f}s: {', '.join(late)} (see {self._log_dir})") from None

    async def _spawn(self, spec: ProcessSpec) -> asyncio.subprocess.Process:
        log_file = (self._log_dir / f"{spec.name}.log").open("ab")
        try:
            return await asyncio.create_subprocess_exec(
                *spec.argv,
                env={**os.environ, **spec.env},
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children in order
            )
        finally:
            log_file.close()

    async def _await_healthy(self, managed: _Managed) -> bool:
        spec = managed.spec
        deadline = time.monotonic() + spec.start_timeout_s
        delay = 0.05
        while time.monotonic() < deadline:
            if managed.proc is None or managed.proc.returncode is not None:
                return False
            if await _probe(spec.probe):
                return True
            await asyncio.sleep(delay)  # polling an external process; no event to wait on
            delay = min(delay * 2, 1.0)
        return False

    async def _run(self, managed: _Managed) -> None:
        spec = managed.spec
        for dep in spec.depends_on:
            await self._procs[dep].healthy.wait()
        backoff = 0.5
        while not self._stopping.is_set():
            started = time.monotonic()
            managed.proc = await self._spawn(spec)
            if self._pid_dir is not None:
                (self._pid_dir / f"{spec.name}.pid").write_text(f"{managed.proc.pid}\n")
            self._on_event(spec.name, f"started pid {managed.proc.pid}")
            if await self._await_healthy(managed):
                await managed.mark(True)
                self._on_event(spec.name, "healthy")
            code = await managed.proc.wait()
            if self._stopping.is_set():
                return
            await managed.mark(False)
            self._on_event(spec.name, f"exited with code {code}")
            if time.monotonic() - started > 60:
                backoff = 0.5
            managed.restarts += 1
            self._on_event(spec.name, f"restarting in {backoff:.1f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
            backoff = min(backoff * 2, self._max_backoff_s)

    async def wait_healthy(self, name: str, *, restarted_from: int | None = None, timeout_s: float = 60.0) -> None:
        """Wait until `name` is healthy (again, under a PID other than `restarted_from`).

        Raises:
            TimeoutError: Not healthy within `timeout_s`.
        """
        managed = self._procs[name]

        def ready() -> bool:
            pid = managed.proc.pid if managed.proc is not None else None
            return managed.healthy.is_set() and (restarted_from is None or pid != restarted_from)

        async with managed.changed:
            await asyncio.wait_for(managed.changed.wait_for(ready), timeout_s)

    def _order(self) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for dep in self._procs[name].spec.depends_on:
                visit(dep)
            order.append(name)

        for name in self._procs:
            visit(name)
        return order

    async def stop(self) -> dict[str, int | None]:
        """Stop every process, dependents first; return each exit code. Idempotent."""
        self._stopping.set()
        codes: dict[str, int | None] = {}
        for name in reversed(self._order()):
            managed = self._procs[name]
            proc = managed.proc
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=managed.spec.stop_grace_s)
                except TimeoutError:
                    log.warning(
                        "%s did not stop within %.0fs; killing its process group", name, managed.spec.stop_grace_s
                    )
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)  # it leads its group (start_new_session)
                    await proc.wait()
            codes[name] = proc.returncode if proc is not None else None
            if self._pid_dir is not None:
                (self._pid_dir / f"{name}.pid").unlink(missing_ok=True)
            self._on_event(name, f"stopped (code {codes[name]})")
        for managed in self._procs.values():
            if managed.task is not None:
                managed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await managed.task
        return codes

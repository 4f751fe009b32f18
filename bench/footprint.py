"""Memory and CPU of every process, idle and under the task mix: the figures behind the Kubernetes requests/limits.

Starts the whole platform with `agentplane up` (tests/support/platform.py: Triton, the four
services, the fast fake LLM as upstream, a local page site), plus one MCP adapter over HTTP,
and measures each process (with its children: Triton's stubs):

1. idle: RSS after start-up settles (`--idle-s`);
2. loaded: the task mix (70% domain, 20% LLM, 10% real-time) from `--concurrency` closed-loop
   clients for `--seconds`: peak RSS, mean CPU in cores, the busiest half-second, and CPU
   milliseconds per task (which holds when other work shares the machine, unlike tasks/s);
3. the embedded LLM (llama.cpp serving SmolLM2) started on its own: idle RSS, then
   `--llm-requests` chat completions at concurrency 2 (peak RSS, mean cores).

    .venv/bin/python bench/footprint.py [--seconds 30] [--concurrency 16]

Prints one JSON object with the parameters and the figures (MiB, cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import grpc  # noqa: E402
import psutil  # noqa: E402

from agentplane.v1 import controller_pb2 as C  # noqa: E402, N812
from agentplane.v1 import controller_pb2_grpc  # noqa: E402
from loadtest.task_mix import TaskMix  # noqa: E402
from tests.support.models import models_dir  # noqa: E402
from tests.support.platform import Platform, start_platform, stop_platform_process  # noqa: E402
from tests.support.ports import free_ports  # noqa: E402

BENCH_CONFIG = """
[limits.default]
rate_per_s = 1000000
burst = 1000000
max_concurrent = 1000000

[controller.limits.default]
rate_per_s = 1000000
burst = 1000000
max_concurrent = 1000000
"""
MIB = 2**20


def _tree(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def _cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _rss(procs: list[psutil.Process]) -> int:
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


class Sampler(threading.Thread):
    """Every 0.5 s: RSS and CPU time of each named process tree; keeps peaks and the busiest second."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_rss: dict[str, int] = {}
        self.peak_cores: dict[str, float] = {}
        self._start_cpu: dict[str, float] = {}
        self._end_cpu: dict[str, float] = {}
        self._t0 = self._t1 = 0.0
        self._done = threading.Event()

    def _sample(self) -> dict[str, tuple[int, float]]:
        out = {}
        for name, pid in self.pids.items():
            try:
                procs = _tree(pid)
            except psutil.Error:
                continue
            out[name] = (_rss(procs), _cpu_s(procs))
        return out

    def run(self) -> None:
        first = self._sample()
        self._t0 = time.monotonic()
        self._start_cpu = {n: c for n, (_, c) in first.items()}
        last, last_t = dict(self._start_cpu), self._t0
        while not self._done.wait(0.5):
            now, sample = time.monotonic(), self._sample()
            for name, (rss, cpu) in sample.items():
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
                if now - last_t > 0:
                    cores = (cpu - last.get(name, cpu)) / (now - last_t)
                    self.peak_cores[name] = max(self.peak_cores.get(name, 0.0), cores)
                last[name] = cpu
                self._end_cpu[name] = cpu
            last_t = now
        self._t1 = time.monotonic()

    def stop(self) -> dict[str, dict[str, float]]:
        self._done.set()
        self.join()
        wall = max(self._t1 - self._t0, 1e-9)
        return {
            name: {
                "peak_rss_mib": round(self.peak_rss.get(name, 0) / MIB, 1),
                "mean_cores": round((self._end_cpu.get(name, 0.0) - self._start_cpu.get(name, 0.0)) / wall, 3),
                "peak_cores": round(self.peak_cores.get(name, 0.0), 3),
                "cpu_s": round(self._end_cpu.get(name, 0.0) - self._start_cpu.get(name, 0.0), 2),
            }
            for name in self.pids
        }


def _idle_rss(pids: dict[str, int], seconds: float) -> dict[str, float]:
    time.sleep(seconds)
    return {name: round(_rss(_tree(pid)) / MIB, 1) for name, pid in pids.items()}


async def _mix_load(platform: Platform, seconds: float, concurrency: int) -> dict[str, Any]:
    mix = TaskMix(realtime_base_url=platform.pages_url)
    key = (("x-api-key", platform.key("acme-user")),)
    channels = [grpc.aio.insecure_channel(platform.address("controller")) for _ in range(4)]
    stubs = [controller_pb2_grpc.TaskControllerStub(ch) for ch in channels]
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + seconds

    async def worker(index: int) -> None:
        rng = random.Random(index)
        stub = stubs[index % len(stubs)]
        while time.monotonic() < deadline:
            sample = mix.sample(rng)
            request = C.SubmitTaskRequest(text=sample.text, task_type=sample.task_type, urls=list(sample.urls))
            try:
                task = await stub.SubmitTask(request, timeout=60, metadata=key)
                name = C.TaskState.Name(task.state).removeprefix("TASK_STATE_")
            except grpc.aio.AioRpcError as exc:
                name = exc.code().name
            outcomes[name] = outcomes.get(name, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.monotonic() - started
    for ch in channels:
        await ch.close()
    done = sum(outcomes.values())
    return {"tasks": done, "tasks_per_s": round(done / elapsed, 1), "outcomes": outcomes}


def _start_mcp(platform: Platform) -> tuple[subprocess.Popen[bytes], int]:
    port = free_ports(1)[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentplane.cli", "mcp", "controller", "--transport", "http", "--port", str(port)],
        env=platform.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the adapter prints its URL once it accepts connections
    if not line:
        raise RuntimeError("the MCP adapter exited during start-up")
    return proc, port


async def _llm_requests(port: int, n: int) -> int:
    body = {
        "model": "smollm2-135m-instruct",
        "messages": [{"role": "user", "content": "Name a colour."}],
        "max_tokens": 32,
    }
    ok = 0
    sem = asyncio.Semaphore(2)
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            nonlocal ok
            async with sem, session.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body) as resp:
                ok += resp.status == 200
                await resp.read()

        await asyncio.gather(*(one() for _ in range(n)))
    return ok


async def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{url} not ready within {timeout_s}s")


def embedded_llm(requests: int, idle_s: float) -> dict[str, Any]:
    """The llama.cpp server on its own: idle RSS, then `requests` completions."""
    port = free_ports(1)[0]
    env = {**os.environ, "AGENTPLANE_LLM__PORT": str(port), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gateway.embedded_llm"], env=env, stdout=subprocess.DEVNULL)
    try:
        asyncio.run(_wait_http(f"http://127.0.0.1:{port}/v1/models", 120))
        idle = _idle_rss({"llm": proc.pid}, idle_s)["llm"]
        sampler = Sampler({"llm": proc.pid})
        sampler.start()
        ok = asyncio.run(_llm_requests(port, requests))
        loaded = sampler.stop()["llm"]
    finally:
        proc.terminate()
        proc.wait(30)
    per_request = round(loaded["cpu_s"] * 1000 / max(requests, 1), 1)
    return {"idle_rss_mib": idle, **loaded, "requests": requests, "ok": ok, "cpu_ms_per_request": per_request}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the loaded phase")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients in the loaded phase")
    parser.add_argument("--idle-s", type=float, default=5.0, help="settle time before the idle reading")
    parser.add_argument("--llm-requests", type=int, default=20, help="completions sent to the embedded LLM (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = models_dir(Path(tmp))
        platform = start_platform(Path(tmp) / "data", models, extra_config=BENCH_CONFIG)
        mcp = None
        try:
            mcp, _ = _start_mcp(platform)
            pids = {p.stem: platform.pid(p.stem) for p in (platform.data_dir / "run").glob("*.pid")}
            pids = {name: pid for name, pid in pids.items() if name not in {"llm", "pages"}}
            pids["mcp_controller"] = mcp.pid
            idle = _idle_rss(pids, args.idle_s)
            sampler = Sampler(pids)
            sampler.start()
            load = asyncio.run(_mix_load(platform, args.seconds, args.concurrency))
            loaded = sampler.stop()
        finally:
            if mcp is not None:
                mcp.terminate()
                mcp.wait(30)
            code = stop_platform_process(platform.process)
    llm = embedded_llm(args.llm_requests, args.idle_s) if args.llm_requests else None
    report = {
        "parameters": vars(args),
        "cpus": os.cpu_count(),
        "load": load,
        "processes": {
            name: {
                "idle_rss_mib": idle[name],
                **loaded[name],
                "cpu_ms_per_task": round(loaded[name]["cpu_s"] * 1000 / max(load["tasks"], 1), 2),
            }
            for name in sorted(pids)
        },
        "embedded_llm": llm,
        "clean_stop_exit_code": code,
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""End-to-end performance of the platform: per-route throughput, overhead, 10,000 in flight, overload.

Starts the whole platform with `agentplane up` (tests/support/platform.py: Triton, the
four services, the fast fake LLM as upstream, a local page site) and measures, in one run:

1. the encoder's raw ceiling: ONNX Runtime in-process on the same texts at batch 64;
2. per route (domain, LLM, real-time): the controller's own overhead per task (client
   latency minus the time spent in steps) unloaded, at concurrency 1; then tasks/s and
   p50/p99 at fixed concurrency, where the overhead also counts queueing in the controller;
3. N tasks in flight at once, twice: (a) N SubmitTask calls opened at once and held until
   their tasks settle; (b) N tasks submitted with `no_wait` (acknowledged once persisted)
   by 256 concurrent submitters, then followed to their outcomes. Each reports lost tasks
   and the peak RSS of every process;
4. beyond saturation: open-loop arrivals at a multiple of the domain route's throughput
   with a short deadline: accepted and settled in time, refused with RESOURCE_EXHAUSTED,
   returned unsettled at the deadline (then followed until they settle), timed out, lost.

    .venv/bin/python bench/e2e.py [--route-tasks 400] [--concurrency 32] [--unloaded-tasks 50] [--inflight 12000]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from agentplane.v1 import controller_pb2 as C  # noqa: E402, N812
from agentplane.v1 import controller_pb2_grpc  # noqa: E402
from loadtest.task_mix import DOMAIN_TEXTS, LLM_TEXTS, TaskMix  # noqa: E402
from tests.support.models import models_dir  # noqa: E402
from tests.support.platform import Platform, start_platform, stop_platform_process  # noqa: E402

SETTLED = {C.TASK_STATE_COMPLETED, C.TASK_STATE_NEEDS_REVIEW, C.TASK_STATE_NEEDS_CLARIFICATION, C.TASK_STATE_FAILED}
BENCH_CONFIG = """
[limits.default]
rate_per_s = 1000000
burst = 1000000
max_concurrent = 1000000

[controller.server]
max_concurrent_rpcs = 30000

[controller.limits.default]
rate_per_s = 1000000
burst = 1000000
max_concurrent = 1000000

[controller.policy.default.task_types.general]
threshold = 0.7
"""


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else 0.0


def encoder_ceiling(models: Path, seconds: float = 5.0) -> dict[str, Any]:
    """texts/s of raw ONNX Runtime (encoder + head) at batch 64 on the domain texts."""
    import onnxruntime as ort

    from domain_inference.artifacts import load_artifacts
    from domain_inference.tokenization import TextTokenizer

    artifacts = load_artifacts(models)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    encoder = ort.InferenceSession(str(artifacts.encoder.model_path), opts, providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(artifacts.topic.model_path), opts, providers=["CPUExecutionProvider"])
    tokenizer = TextTokenizer.from_file(artifacts.encoder.tokenizer_path, artifacts.encoder.tokenizer_settings)
    texts = [DOMAIN_TEXTS[i % len(DOMAIN_TEXTS)] for i in range(64)]
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        batch = tokenizer.encode(texts)
        emb = encoder.run(None, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})[0]
        head.run(None, {head.get_inputs()[0].name: emb})
        done += len(texts)
    return {"texts_per_s": round(done / (time.perf_counter() - started), 1), "batch": 64, "threads": 2}


class RssSampler(threading.Thread):
    """Samples the RSS of every supervised process until stopped; keeps the peaks."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(daemon=True)
        self.platform, self.peaks, self._done = platform, {}, threading.Event()

    def run(self) -> None:
        names = [p.stem for p in (self.platform.data_dir / "run").glob("*.pid")]
        while not self._done.is_set():
            for name in names:
                try:
                    proc = psutil.Process(self.platform.pid(name))
                    rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                except (psutil.Error, OSError, ValueError):
                    continue
                self.peaks[name] = max(self.peaks.get(name, 0), rss)
            self._done.wait(0.25)

    def stop(self) -> dict[str, float]:
        self._done.set()
        self.join()
        return {k: round(v / 2**20, 1) for k, v in sorted(self.peaks.items())}


def _request(kind: str, rng: random.Random, pages: str) -> C.SubmitTaskRequest:
    if kind == "domain":
        return C.SubmitTaskRequest(text=rng.choice(DOMAIN_TEXTS), task_type="classify")
    if kind == "llm":
        return C.SubmitTaskRequest(text=rng.choice(LLM_TEXTS), task_type="general")
    url = f"{pages}{rng.choice(('/rates.html', '/news.html'))}"
    return C.SubmitTaskRequest(text=f"fetch {url}", task_type="realtime", urls=[url])


class Client:
    """A few channels to the controller, used round-robin."""

    def __init__(self, platform: Platform, channels: int = 4) -> None:
        self.key = platform.key("acme-user")
        self.channels = [grpc.aio.insecure_channel(platform.address("controller")) for _ in range(channels)]
        self.stubs = [controller_pb2_grpc.TaskControllerStub(ch) for ch in self.channels]
        self._n = 0

    def stub(self) -> controller_pb2_grpc.TaskControllerStub:
        self._n += 1
        return self.stubs[self._n % len(self.stubs)]

    async def submit(self, request: C.SubmitTaskRequest, timeout_s: float) -> tuple[C.Task | None, str, float]:
        started = time.perf_counter()
        try:
            task = await self.stub().SubmitTask(request, timeout=timeout_s, metadata=(("x-api-key", self.key),))
            return task, "OK", (time.perf_counter() - started) * 1000
        except grpc.aio.AioRpcError as exc:
            return None, exc.code().name, (time.perf_counter() - started) * 1000

    async def get(self, task_id: str) -> C.Task:
        return await self.stub().GetTask(
            C.GetTaskRequest(task_id=task_id), timeout=30, metadata=(("x-api-key", self.key),)
        )

    async def close(self) -> None:
        for ch in self.channels:
            await ch.close()


async def route_run(client: Client, kind: str, pages: str, n: int, concurrency: int) -> dict[str, Any]:
    rng, latencies, overheads, states, left = random.Random(7), [], [], {}, n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            task, code, ms = await client.submit(_request(kind, rng, pages), 60)
            if task is None:
                states[code] = states.get(code, 0) + 1
                continue
            name = C.TaskState.Name(task.state).removeprefix("TASK_STATE_")
            states[name] = states.get(name, 0) + 1
            latencies.append(ms)
            overheads.append(ms - sum(s.latency_ms for s in task.result.steps))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {
        "tasks": n,
        "concurrency": concurrency,
        "tasks_per_s": round(n / seconds, 1),
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
        "controller_overhead_p50_ms": _pct(overheads, 50),
        "outcomes": states,
    }


async def follow(client: Client, task_ids: list[str]) -> dict[str, int]:
    """Poll unsettled tasks until each settles (bounded); count final states."""
    finals: dict[str, int] = {}
    pending = list(task_ids)
    deadline = time.monotonic() + 600
    sem = asyncio.Semaphore(64)
    while pending and time.monotonic() < deadline:

        async def check(task_id: str) -> str | None:
            """The task's id while it is still unsettled, else None (its outcome counted)."""
            async with sem:
                task = await client.get(task_id)
            if task.state not in SETTLED:
                return task_id
            name = C.TaskState.Name(task.state).removeprefix("TASK_STATE_")
            finals[name] = finals.get(name, 0) + 1
            return None

        pending = [t for t in await asyncio.gather(*(check(t) for t in pending)) if t is not None]
        if pending:
            await asyncio.sleep(1.0)  # polling the tasks' progress
    finals["never_settled"] = len(pending)
    return finals


async def held_run(client: Client, pages: str, n: int) -> dict[str, Any]:
    """Open `n` SubmitTask calls at once and hold each until its task settles (deadline 600 s)."""
    mix, rng = TaskMix(realtime_base_url=pages), random.Random(17)
    requests = [_request(mix.sample(rng).kind, rng, pages) for _ in range(n)]
    open_calls = peak_open = 0

    async def one(request: C.SubmitTaskRequest) -> tuple[C.Task | None, str, float]:
        nonlocal open_calls, peak_open
        open_calls += 1
        peak_open = max(peak_open, open_calls)
        try:
            return await client.submit(request, 600)
        finally:
            open_calls -= 1

    started = time.perf_counter()
    results = await asyncio.gather(*(one(r) for r in requests))
    seconds = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    unsettled = []
    for task, code, _ in results:
        state = C.TaskState.Name(task.state).removeprefix("TASK_STATE_") if task is not None else code
        outcomes[state] = outcomes.get(state, 0) + 1
        if task is not None and task.state not in SETTLED:
            unsettled.append(task.task_id)
    followed = await follow(client, unsettled) if unsettled else {}
    return {
        "calls": n,
        "peak_open_calls": peak_open,
        "seconds": round(seconds, 1),
        "tasks_per_s": round(n / seconds, 1),
        "outcomes": outcomes,
        "cancelled": outcomes.get("CANCELLED", 0),
        "lost": followed.get("never_settled", 0),
    }


async def inflight_run(client: Client, pages: str, n: int, submitters: int = 256) -> dict[str, Any]:
    """Submit `n` tasks with no_wait (acknowledged once persisted), then follow every one to its outcome."""
    mix, rng = TaskMix(realtime_base_url=pages), random.Random(11)
    requests = [_request(mix.sample(rng).kind, rng, pages) for _ in range(n)]
    for r in requests:
        r.no_wait = True
    accepted: list[str] = []
    codes: dict[str, int] = {}
    queue = list(reversed(requests))

    async def submitter() -> None:
        while queue:
            task, code, _ = await client.submit(queue.pop(), 60)
            codes[code] = codes.get(code, 0) + 1
            if task is not None:
                accepted.append(task.task_id)

    started = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(submitters)))
    submit_s = time.perf_counter() - started
    first_round = await _states(client, accepted)
    in_flight = sum(n for state, n in first_round.items() if state in ("RECEIVED", "RUNNING"))
    finals = await follow(client, accepted)
    drained_s = time.perf_counter() - started
    return {
        "submitted": n,
        "submit_seconds": round(submit_s, 1),
        "acks": codes,
        "in_flight_after_submission": in_flight,
        "drained_seconds": round(drained_s, 1),
        "tasks_per_s": round(len(accepted) / drained_s, 1),
        "outcomes": finals,
        # refused submissions are not lost (the client was told); lost = accepted, never settled
        "lost": finals.get("never_settled", 0),
    }


async def _states(client: Client, task_ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    sem = asyncio.Semaphore(64)

    async def one(task_id: str) -> None:
        async with sem:
            state = C.TaskState.Name((await client.get(task_id)).state).removeprefix("TASK_STATE_")
        counts[state] = counts.get(state, 0) + 1

    await asyncio.gather(*(one(t) for t in task_ids))
    return counts


async def overload_run(client: Client, pages: str, rate: float, seconds: float, deadline_s: float) -> dict[str, Any]:
    rng = random.Random(13)
    pending: list[asyncio.Task[tuple[C.Task | None, str, float]]] = []
    started = time.perf_counter()
    next_at = started
    while time.perf_counter() - started < seconds:
        pending.append(asyncio.create_task(client.submit(_request("domain", rng, pages), deadline_s)))
        next_at += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    results = await asyncio.gather(*pending)
    counts = {
        "offered": len(results),
        "settled_in_time": 0,
        "refused": 0,
        "unsettled_at_deadline": 0,
        "timed_out": 0,
        "other_errors": 0,
    }
    unsettled = []
    for task, code, _ in results:
        if task is None:
            key = (
                "refused"
                if code == "RESOURCE_EXHAUSTED"
                else "timed_out"
                if code == "DEADLINE_EXCEEDED"
                else "other_errors"
            )
            counts[key] += 1
        elif task.state in SETTLED:
            counts["settled_in_time"] += 1
        else:
            counts["unsettled_at_deadline"] += 1
            unsettled.append(task.task_id)
    followed = await follow(client, unsettled) if unsettled else {}
    accepted = counts["settled_in_time"] + counts["unsettled_at_deadline"]
    return {
        "offered_rate_per_s": round(rate, 1),
        "seconds": seconds,
        "deadline_s": deadline_s,
        **counts,
        "refused_share": round(counts["refused"] / counts["offered"], 4),
        "timed_out_share": round(counts["timed_out"] / counts["offered"], 4),
        "accepted_settled_later": followed,
        "lost": followed.get("never_settled", 0),
        "accepted": accepted,
    }


async def measure(platform: Platform, args: argparse.Namespace) -> dict[str, Any]:
    client = Client(platform)
    try:
        await route_run(client, "domain", platform.pages_url, 64, 8)  # warm-up
        # Unloaded (concurrency 1): the controller's intrinsic overhead per task, without queueing.
        unloaded = {
            kind: await route_run(client, kind, platform.pages_url, args.unloaded_tasks, 1)
            for kind in ("domain", "llm", "realtime")
            if args.unloaded_tasks
        }
        routes = {
            kind: await route_run(client, kind, platform.pages_url, args.route_tasks, args.concurrency)
            for kind in ("domain", "llm", "realtime")
        }
        sampler = RssSampler(platform)
        sampler.start()
        held = await held_run(client, platform.pages_url, args.inflight)
        held["peak_rss_mib"] = sampler.stop()
        sampler = RssSampler(platform)
        sampler.start()
        inflight = await inflight_run(client, platform.pages_url, args.inflight)
        inflight["peak_rss_mib"] = sampler.stop()
        overload = await overload_run(
            client,
            platform.pages_url,
            routes["domain"]["tasks_per_s"] * args.overload_factor,
            args.overload_s,
            args.overload_deadline_s,
        )
    finally:
        await client.close()
    return {"unloaded": unloaded, "routes": routes, "held": held, "inflight": inflight, "overload": overload}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--route-tasks", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--unloaded-tasks", type=int, default=50, help="tasks per route at concurrency 1 (0: skip)")
    parser.add_argument("--inflight", type=int, default=12_000)
    parser.add_argument("--overload-factor", type=float, default=2.0)
    parser.add_argument("--overload-s", type=float, default=15.0)
    parser.add_argument("--overload-deadline-s", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = models_dir(Path(tmp))
        ceiling = encoder_ceiling(models)
        platform = start_platform(Path(tmp) / "data", models, extra_config=BENCH_CONFIG)
        try:
            results = asyncio.run(measure(platform, args))
        finally:
            code = stop_platform_process(platform.process)
    domain = results["routes"]["domain"]["tasks_per_s"]
    report = {
        "parameters": vars(args),
        "encoder_ceiling": ceiling,
        "domain_share_of_encoder_ceiling": round(domain / ceiling["texts_per_s"], 3),
        **results,
        "clean_stop_exit_code": code,
        "median_route_p50_ms": statistics.median(r["p50_ms"] for r in results["routes"].values()),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

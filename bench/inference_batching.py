"""Does Triton's dynamic batching pay off? Raw ONNX Runtime vs the gRPC service through Triton, batching on/off.

One run measures, for each input kind (news titles/sentences, full articles) and each
concurrency (closed-loop callers, one text per request):

  (a) raw ONNX Runtime, batch 1 (tokenise + encoder + head in this process, c threads);
  (b) raw ONNX Runtime at its best batch size: a sweep of batch size, text order (as given or
      length-sorted) and thread layout (1 caller x 1 or 2 intra-op threads, 2 callers x 1 thread);
      the best cell is the ceiling on this CPU; that setting is then run at each concurrency;
  (c) the DomainInference gRPC service (separate process) through Triton, dynamic batching on;
  (d) the same with dynamic batching off.

Triton (the launcher) and the service are started here on free 127.0.0.1 ports under the
shared `agentplane.supervisor.Supervisor`, with the in-process fallback disabled so every
answer really comes from Triton. CPU ms per text counts every process of the run (bench
client, service, tritonserver and its stubs). Prints ONE JSON object.

    .venv/bin/python bench/inference_batching.py --seconds 10 --concurrency 1,16,64
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import psutil  # type: ignore[import-untyped]
import uvloop

from agentplane.supervisor import HealthProbe, ProcessSpec, Supervisor
from agentplane.v1 import inference_pb2
from domain_inference.adapters.onnx_session import open_session
from domain_inference.adapters.triton import TritonBackend
from domain_inference.artifacts import ModelArtifacts, load_artifacts
from domain_inference.config import TritonClientSettings
from domain_inference.tokenization import TextTokenizer

BENCH_KEY = "bench-key-inference-batching"
HEAD_OUTPUTS = ["probs", "ood_logit", "mahalanobis"]


# ---------------------------------------------------------------- inputs


def load_inputs(artifacts: ModelArtifacts) -> dict[str, list[str]]:
    """Held-out news: short pieces (titles and 1-2 sentence snippets) and full articles."""

    def rows(path: Path) -> list[dict[str, str]]:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    short = [r["text"] for r in rows(artifacts.news_test_short_path) if r.get("kind") in ("title", "sentences")]
    articles = [r["text"] for r in rows(artifacts.news_test_path)]
    return {"short": short, "articles": articles}


def summarise(latencies_s: list[float], texts: int, wall_s: float, cpu_s: float | None = None) -> dict[str, Any]:
    lat = sorted(latencies_s)
    out: dict[str, Any] = {
        "requests": len(lat),
        "texts": texts,
        "texts_per_s": round(texts / wall_s, 1) if wall_s > 0 else 0.0,
        "p50_ms": round(lat[len(lat) // 2] * 1000, 2) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2) if lat else None,
    }
    if cpu_s is not None and texts:
        out["cpu_ms_per_text"] = round(cpu_s * 1000 / texts, 2)
    return out


# ---------------------------------------------------------------- raw ONNX Runtime


class RawPipeline:
    """Tokeniser + encoder + head in this process, as a user of plain onnxruntime would run them."""

    def __init__(self, artifacts: ModelArtifacts, threads: int) -> None:
        enc = artifacts.encoder
        self.tokenizer = TextTokenizer.from_file(enc.tokenizer_path, enc.tokenizer_settings)
        self.encoder = open_session(enc.model_path, threads=threads)
        self.head = open_session(artifacts.topic.model_path, threads=1)
        self.head_input = artifacts.topic.input_name

    def by_length(self, texts: list[str]) -> list[str]:
        """`texts` sorted by token count, so consecutive batches need little padding."""
        counts = self.tokenizer.encode(texts).token_counts
        return [t for _, t in sorted(zip(counts, texts, strict=True), key=lambda pair: pair[0])]

    def __call__(self, texts: Sequence[str]) -> None:
        batch = self.tokenizer.encode(texts)
        vectors = self.encoder.run(None, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})[0]
        self.head.run(HEAD_OUTPUTS, {self.head_input: vectors})


def run_raw(
    pipeline: RawPipeline, texts: list[str], batch: int, concurrency: int, seconds: float, max_texts: int
) -> dict[str, Any]:
    """Closed loop: `concurrency` threads each run batches of `batch` texts until time or count runs out."""
    latencies: list[float] = []
    done = [0]
    lock = threading.Lock()
    cursor = [0]
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if done[0] >= max_texts:
                    return
                start = cursor[0]
                cursor[0] += batch
                done[0] += batch
            chunk = [texts[(start + i) % len(texts)] for i in range(batch)]
            t0 = time.perf_counter()
            pipeline(chunk)
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)

    pipeline(texts[:batch])  # warm the session for this shape range
    cpu0 = psutil.Process().cpu_times()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - t0
    cpu1 = psutil.Process().cpu_times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return summarise(latencies, len(latencies) * batch, wall, cpu)


# ---------------------------------------------------------------- service through Triton


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _label(proc: Any, names: dict[int, str]) -> str:
    if proc.pid in names:
        return names[proc.pid]
    instance = [a for a in proc.cmdline() if re.fullmatch(r".+_\d+_\d+", a)]
    return f"stub:{instance[0]}" if instance else proc.name()


def process_cpu_s(names: dict[int, str]) -> dict[str, float]:
    """CPU seconds (user + system) of each named process tree, by process label."""
    totals: dict[str, float] = {}
    for pid in names:
        try:
            root = psutil.Process(pid)
            procs = [root] if pid == os.getpid() else [root, *root.children(recursive=True)]
            for proc in procs:
                times = proc.cpu_times()
                label = _label(proc, names)
                totals[label] = totals.get(label, 0.0) + times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return totals


class Platform:
    """Triton (launcher) + the DomainInference service, supervised, on free loopback ports."""

    def __init__(self, models_dir: Path, work: Path, dynamic_batching: bool, env: dict[str, str]) -> None:
        self.http, self.grpc_port, self.metrics, self.service_port = free_ports(4)
        self.work = work
        launcher = [sys.executable, "-m", "domain_inference.triton_launcher"]
        launcher += [
            "--http-port",
            str(self.http),
            "--grpc-port",
            str(self.grpc_port),
            "--metrics-port",
            str(self.metrics),
        ]
        if not dynamic_batching:
            launcher.append("--no-dynamic-batching")
        key = {"name": "bench", "tenant": "bench", "sha256": hashlib.sha256(BENCH_KEY.encode()).hexdigest()}
        common = {
            "AGENTPLANE_DATA_DIR": str(work),
            "AGENTPLANE_DOMAIN_INFERENCE__MODELS_DIR": str(models_dir),
            "AGENTPLANE_LOG__LEVEL": "warning",
            **env,
        }
        service_env = {
            **common,
            "AGENTPLANE_DOMAIN_INFERENCE__SERVER__PORT": str(self.service_port),
            "AGENTPLANE_DOMAIN_INFERENCE__TRITON_CLIENT__ADDRESS": f"127.0.0.1:{self.grpc_port}",
            "AGENTPLANE_DOMAIN_INFERENCE__FALLBACK__ENABLED": "false",
            "AGENTPLANE_AUTH__KEYS": json.dumps([key]),
            "AGENTPLANE_LIMITS__DEFAULT__RATE_PER_S": "1000000",
            "AGENTPLANE_LIMITS__DEFAULT__BURST": "1000000",
            "AGENTPLANE_LIMITS__DEFAULT__MAX_CONCURRENT": "4096",
        }
        self.address = f"127.0.0.1:{self.service_port}"
        self.supervisor = Supervisor(
            [
                ProcessSpec(
                    "triton",
                    tuple(launcher),
                    common,
                    HealthProbe("http", f"http://127.0.0.1:{self.http}/v2/health/ready"),
                    start_timeout_s=180,
                    stop_grace_s=30,
                ),
                ProcessSpec(
                    "service",
                    (sys.executable, "-m", "domain_inference.server"),
                    service_env,
                    HealthProbe("grpc", self.address, "agentplane.v1.DomainInference"),
                    depends_on=("triton",),
                    start_timeout_s=120,
                ),
            ],
            work / "logs",
        )

    async def __aenter__(self) -> Platform:
        await self.supervisor.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.supervisor.stop()

    def pids(self) -> dict[int, str]:
        """Supervised PIDs by process name ("triton" is the launcher; its children are tritonserver and stubs)."""
        return {
            pid: f"{name}:launcher" if name == "triton" else name for name, pid in self.supervisor.pids().items() if pid
        }


async def run_service(
    platform_: Platform, texts: list[str], concurrency: int, seconds: float, max_texts: int
) -> dict[str, Any]:
    """Closed loop over gRPC: `concurrency` callers, one text per Classify request."""
    requests = [inference_pb2.ClassifyRequest(model="news-topic", texts=[t]).SerializeToString() for t in texts]
    stats = TritonBackend(f"127.0.0.1:{platform_.grpc_port}", TritonClientSettings())
    await stats.start()
    async with grpc.aio.insecure_channel(platform_.address) as channel:
        call = channel.unary_unary("/agentplane.v1.DomainInference/Classify")
        metadata = (("x-api-key", BENCH_KEY),)
        for request in requests[: min(len(requests), 2 * concurrency)]:  # warm-up: connections, sessions
            await call(request, metadata=metadata, timeout=120)
        latencies: list[float] = []
        errors: list[str] = []
        counter = iter(range(max_texts))
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            for i in counter:
                if time.monotonic() >= deadline:
                    return
                t0 = time.perf_counter()
                try:
                    await call(requests[i % len(requests)], metadata=metadata, timeout=120)
                except grpc.aio.AioRpcError as exc:
                    errors.append(f"{exc.code().name}: {exc.details()}")
                    continue
                latencies.append(time.perf_counter() - t0)

        before = await stats.statistics("encoder")
        names = {**platform_.pids(), os.getpid(): "bench_client"}
        cpu0 = process_cpu_s(names)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        cpu1 = process_cpu_s(names)
        after = await stats.statistics("encoder")
    await stats.aclose()
    spent = {k: v - cpu0.get(k, 0.0) for k, v in cpu1.items()}
    out = summarise(latencies, len(latencies), wall, sum(spent.values()))
    if latencies:
        out["cpu_ms_per_text_by_process"] = {
            k: round(v * 1000 / len(latencies), 2) for k, v in sorted(spent.items()) if v > 0
        }
    executions = after.executions - before.executions
    out["triton_encoder_executions"] = executions
    out["triton_encoder_mean_batch"] = (
        round((after.inferences - before.inferences) / executions, 2) if executions else 0
    )
    out["errors"] = len(errors)
    if errors:
        out["first_error"] = errors[0]
    return out


# ---------------------------------------------------------------- driver


def perf_analyzer_status() -> dict[str, Any]:
    path = shutil.which("perf_analyzer")
    if path is None:
        return {
            "available": False,
            "reason": "no perf_analyzer binary: PyPI resolves only perf-analyzer 0.1.0 (a 'Placeholder' wheel without "
            "binary) on this glibc 2.36 host; the real wheels (2.58+) are manylinux_2_38",
        }
    return {"available": True, "path": path}


def parse_ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x]


async def measure_service(
    args: argparse.Namespace,
    inputs: dict[str, list[str]],
    models_dir: Path,
    work: Path,
    dynamic: bool,
    env: dict[str, str],
) -> dict[str, dict[int, Any]]:
    results: dict[str, dict[int, Any]] = {kind: {} for kind in inputs}
    async with Platform(models_dir, work / ("on" if dynamic else "off"), dynamic, env) as plat:
        for kind, texts in inputs.items():
            for conc in args.concurrency:
                results[kind][conc] = await run_service(plat, texts, conc, args.seconds, args.max_texts)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=Path(".agentplane/models"))
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per cell")
    parser.add_argument("--sweep-seconds", type=float, default=5.0, help="seconds per cell of the (b) sweep")
    parser.add_argument("--max-texts", type=int, default=20000, help="texts per cell at most")
    parser.add_argument("--concurrency", type=parse_ints, default=[1, 16, 64])
    parser.add_argument("--batch-sizes", type=parse_ints, default=[1, 8, 16, 32, 64])
    parser.add_argument("--inputs", default="short,articles", help="input kinds: short, articles")
    parser.add_argument("--skip", default="", help="comma list of a,b,c,d to skip")
    parser.add_argument(
        "--triton-env", action="append", default=[], metavar="K=V", help="extra AGENTPLANE_* for launcher and service"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(",")) - {""}
    artifacts = load_artifacts(args.models_dir)
    all_inputs = load_inputs(artifacts)
    inputs = {k: all_inputs[k] for k in args.inputs.split(",")}
    env = dict(item.split("=", 1) for item in args.triton_env)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "inference_batching",
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_start": os.getloadavg()},
        "inputs": {k: {"texts": len(v), "mean_chars": round(statistics.mean(map(len, v)))} for k, v in inputs.items()},
        "results": {kind: {} for kind in inputs},
    }
    raw_cache: dict[int, RawPipeline] = {}

    def raw(threads: int) -> RawPipeline:
        if threads not in raw_cache:
            raw_cache[threads] = RawPipeline(artifacts, threads)
        return raw_cache[threads]

    for kind, texts in inputs.items():
        res = report["results"][kind]
        if "a" not in skip:
            res["a_raw_ort_batch1"] = {
                c: run_raw(raw(2), texts, 1, c, args.seconds, args.max_texts) for c in args.concurrency
            }
        if "b" not in skip:
            # The ceiling gets every advantage: batches of consecutive texts in token-length order.
            ordered = raw(1).by_length(texts)
            # Layouts: one caller with 1 or 2 intra-op threads, or two callers of a 1-thread session (one per core).
            sweep = []
            for threads, workers in ((1, 1), (2, 1), (1, 2)):
                for batch in args.batch_sizes:
                    orders = (("length_sorted", ordered), ("as_given", texts)) if batch > 1 else (("as_given", texts),)
                    for label, pool in orders:
                        cell = run_raw(raw(threads), pool, batch, workers, args.sweep_seconds, args.max_texts)
                        sweep.append({"threads": threads, "workers": workers, "batch": batch, "order": label, **cell})
            best = max(sweep, key=lambda c: c["texts_per_s"])
            pool = ordered if best["order"] == "length_sorted" else texts
            keys = ("threads", "workers", "batch", "order", "texts_per_s", "cpu_ms_per_text", "p50_ms", "p99_ms")
            given = max((c for c in sweep if c["order"] == "as_given"), key=lambda c: c["texts_per_s"])
            res["b_raw_ort_best_batch"] = {
                "best": {k: best[k] for k in keys},
                "best_as_given": {k: given[k] for k in keys},
                "sweep": sweep,
                "by_concurrency": {
                    c: run_raw(raw(best["threads"]), pool, best["batch"], c, args.seconds, args.max_texts)
                    for c in args.concurrency
                },
            }
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        for label, dynamic in (("c_service_triton_dynamic_batching", True), ("d_service_triton_no_batching", False)):
            if label[0] in skip:
                continue
            measured = uvloop.run(measure_service(args, inputs, args.models_dir, Path(tmp), dynamic, env))
            for kind in inputs:
                report["results"][kind][label] = measured[kind]
    for kind in inputs:
        res = report["results"][kind]
        top = max(args.concurrency)
        ratios: dict[str, Any] = {}
        c = res.get("c_service_triton_dynamic_batching", {}).get(top)
        d = res.get("d_service_triton_no_batching", {}).get(top)
        # Wall-clock ratios, and the same from CPU per text (less sensitive to other load on the host).
        if c and d and d["texts_per_s"]:
            ratios[f"c_over_d_at_{top}"] = round(c["texts_per_s"] / d["texts_per_s"], 2)
            ratios[f"c_over_d_at_{top}_by_cpu"] = round(d["cpu_ms_per_text"] / c["cpu_ms_per_text"], 2)
        for name in ("best", "best_as_given"):
            b = res.get("b_raw_ort_best_batch", {}).get(name)
            if c and b:
                ratios[f"c_at_{top}_over_b_{name}"] = round(c["texts_per_s"] / b["texts_per_s"], 3)
                ratios[f"c_at_{top}_over_b_{name}_by_cpu"] = round(b["cpu_ms_per_text"] / c["cpu_ms_per_text"], 3)
        res["ratios"] = ratios
    report["perf_analyzer"] = perf_analyzer_status()
    report["machine"]["load_avg_end"] = os.getloadavg()
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

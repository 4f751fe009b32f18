"""Gateway overhead: added latency and requests/s over a fast local fake upstream, side by side with peers.

Starts, on 127.0.0.1 and inside a fresh network namespace (`unshare -n`, loopback only,
so nothing can leave the machine; `--no-netns` to skip): the fake provider
(tests/support/fake_llm.py), the gateway (`python -m gateway.server`, HTTP front and
gRPC, metrics on, its /metrics endpoint served), a bare 40-line aiohttp pass-through,
the LiteLLM proxy (from a separate venv, `.venv-litellm`) and, as the `metrics_off`
peer, a second gateway with `[metrics] enabled = false` (the cost of metrics, measured
side by side in the same run). The gateways and every peer are pinned to
`--gateway-cpu`; the upstream, the load generator (wrk) and this script to `--load-cpu`.

Measures:
- latency at concurrency 1 (one keep-alive connection per target, requests
  interleaved round-robin across targets): p50/p99 and added p50/p99 over a direct
  call to the upstream, also for gateway cache hits;
- requests/s at each `--concurrency` (wrk for HTTP, a grpc.aio client for gRPC),
  with the CPU time each server spent per request (robust when the machine is busy).

Prints one JSON object with the parameters and the results.
Example: `.venv/bin/python bench/gateway_overhead.py --duration-s 5 --latency-requests 1000`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
KEY = "bench-key"
LITELLM_KEY = "sk-bench"
PROMPT = "hello there, how are you"

BARE_PROXY = """
import asyncio, sys, aiohttp, uvloop
from aiohttp import web
UP = sys.argv[2]
async def main():
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
    async def handle(request):
        body = await request.read()
        async with session.post(UP, data=body, headers={"Content-Type": "application/json"}) as r:
            data = await r.read()
        return web.Response(body=data, status=r.status, content_type="application/json")
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(sys.argv[1])).start()
    await asyncio.Event().wait()
uvloop.run(main())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def body(model: str, *, greedy: bool = False) -> bytes:
    doc: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 16}
    if greedy:
        doc["temperature"] = 0
    return json.dumps(doc, separators=(",", ":")).encode()


class Target:
    """One HTTP endpoint to measure."""

    def __init__(self, name: str, url: str, payload: bytes, headers: dict[str, str], pid: int | None) -> None:
        self.name, self.url, self.payload, self.headers, self.pid = name, url, payload, headers, pid


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.targets: list[Target] = []
        self.notes: list[str] = []
        self.grpc_targets: dict[str, tuple[str, int]] = {}
        """gRPC targets measured: name -> (address, server pid)."""

    # --- processes -------------------------------------------------------------------

    def spawn(
        self, argv: list[str], cpu: int, env: dict[str, str] | None = None, log: str = ""
    ) -> subprocess.Popen[bytes]:
        out = open(self.tmp / (log or "proc.log"), "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            ["taskset", "-c", str(cpu), *argv],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=out,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    async def wait_http(self, url: str, timeout_s: float, headers: dict[str, str] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status < 500:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} not ready after {timeout_s:.0f}s (logs in {self.tmp})")
                await asyncio.sleep(0.2)  # polling readiness under a bounded deadline

    async def start_gateway(self, name: str, upstream: str, *, metrics: bool) -> tuple[int, int]:
        """A gateway process (metrics on or off); returns (pid, HTTP port) and records its gRPC target."""
        gw_http, gw_grpc, gw_metrics = free_port(), free_port(), free_port()
        config = self.tmp / f"{name}.toml"
        config.write_text(
            f'data_dir = "{self.tmp / name}"\n[auth]\nkeys_file = "{self.tmp / "keys.toml"}"\n'
            "[limits.default]\nrate_per_s = 10000000\nburst = 10000000\nmax_concurrent = 100000\n"
            '[log]\nlevel = "warning"\n'
            f"[metrics]\nenabled = {'true' if metrics else 'false'}\nport = {gw_metrics}\n"
            f"[gateway.server]\nport = {gw_grpc}\n[gateway.http]\nport = {gw_http}\n"
            f'[gateway.usage]\nbackend = "{self.args.usage_backend}"\n'
            "[gateway.models.bench]\n[[gateway.models.bench.deployments]]\n"
            f'name = "fake"\nmodel = "fake-model"\nbase_url = "{upstream}"\nresidency = "on_prem"\n'
        )
        gw = self.spawn(
            [PY, "-m", "gateway.server"], self.args.gateway_cpu, {"AGENTPLANE_CONFIG": str(config)}, f"{name}.log"
        )
        await self.wait_http(f"http://127.0.0.1:{gw_http}/healthz", 60)
        if metrics:  # the endpoint is served, as in production
            await self.wait_http(f"http://127.0.0.1:{gw_metrics}/metrics", 10)
        self.grpc_targets[name.replace("http", "grpc")] = (f"127.0.0.1:{gw_grpc}", gw.pid)
        return gw.pid, gw_http

    async def start(self) -> None:
        args = self.args
        up_port, bare_port, ll_port = (free_port() for _ in range(3))
        self.spawn([PY, "-m", "tests.support.fake_llm", "--port", str(up_port)], args.load_cpu, log="fake.log")
        await self.wait_http(f"http://127.0.0.1:{up_port}/v1/models", 30)
        upstream = f"http://127.0.0.1:{up_port}/v1"
        (self.tmp / "keys.toml").write_text(
            f'[[keys]]\nname = "bench"\ntenant = "bench"\nsha256 = "{hashlib.sha256(KEY.encode()).hexdigest()}"\n'
        )
        gw_pid, gw_http = await self.start_gateway("gateway_http", upstream, metrics=True)
        auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        plain = {"Content-Type": "application/json"}
        self.targets = [
            Target("direct", f"{upstream}/chat/completions", body("fake-model"), plain, None),
            Target("gateway_http", f"http://127.0.0.1:{gw_http}/v1/chat/completions", body("bench"), auth, gw_pid),
            Target(
                "gateway_http_cache_hit",
                f"http://127.0.0.1:{gw_http}/v1/chat/completions",
                body("bench", greedy=True),
                auth,
                gw_pid,
            ),
        ]
        if "metrics_off" in args.peers:
            off_pid, off_http = await self.start_gateway("gateway_http_metrics_off", upstream, metrics=False)
            url = f"http://127.0.0.1:{off_http}/v1/chat/completions"
            self.targets.append(Target("gateway_http_metrics_off", url, body("bench"), auth, off_pid))
        if "bare" in args.peers:
            script = self.tmp / "bare_proxy.py"
            script.write_text(BARE_PROXY)
            bare = self.spawn(
                [PY, str(script), str(bare_port), f"{upstream}/chat/completions"], args.gateway_cpu, log="bare.log"
            )
            await self.wait_http(f"http://127.0.0.1:{bare_port}/", 30)
            self.targets.append(
                Target(
                    "bare_aiohttp_passthrough",
                    f"http://127.0.0.1:{bare_port}/v1/chat/completions",
                    body("fake-model"),
                    plain,
                    bare.pid,
                )
            )
        if "litellm" in args.peers:
            await self.start_litellm(upstream, ll_port)

    async def start_litellm(self, upstream: str, port: int) -> None:
        exe = ROOT / self.args.litellm_venv / "bin" / "litellm"
        if not exe.exists():
            self.notes.append(
                f"LiteLLM not measured: {exe} does not exist (python3 -m venv .venv-litellm && "
                ".venv-litellm/bin/pip install 'litellm[proxy]==1.108.7')"
            )
            return
        (self.tmp / "litellm.yaml").write_text(
            "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/fake-model\n"
            f"      api_base: {upstream}\n      api_key: dummy\n"
            f"general_settings:\n  master_key: {LITELLM_KEY}\nlitellm_settings:\n  telemetry: false\n"
        )
        env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "LITELLM_LOG": "ERROR"}
        proc = self.spawn(
            [
                str(exe),
                "--config",
                str(self.tmp / "litellm.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                "1",
            ],
            self.args.gateway_cpu,
            env,
            "litellm.log",
        )
        try:
            await self.wait_http(f"http://127.0.0.1:{port}/health/liveliness", 180)
        except RuntimeError as exc:
            self.notes.append(f"LiteLLM not measured: {exc}")
            return
        headers = {"Authorization": f"Bearer {LITELLM_KEY}", "Content-Type": "application/json"}
        self.targets.append(
            Target("litellm_proxy", f"http://127.0.0.1:{port}/v1/chat/completions", body("bench"), headers, proc.pid)
        )

    # --- measurements ----------------------------------------------------------------

    async def latency(self) -> dict[str, Any]:
        """Concurrency 1: one keep-alive connection per target; targets take turns in blocks.

        Blocks (`--latency-requests` / 5 requests each, five rounds) rather than one request per
        target in turn: an idle gap between two requests on a connection (while the slowest peer
        answers) would otherwise add wake-up latency that no real client at concurrency 1 sees.
        """
        import grpc

        from agentplane.v1 import gateway_pb2, gateway_pb2_grpc

        samples: dict[str, list[float]] = {t.name: [] for t in self.targets}
        samples.update({name: [] for name in self.grpc_targets})
        sessions = {t.name: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for t in self.targets}
        channels = {name: grpc.aio.insecure_channel(addr) for name, (addr, _) in self.grpc_targets.items()}
        stubs = {name: gateway_pb2_grpc.LLMGatewayStub(ch) for name, ch in channels.items()}
        req = gateway_pb2.CompleteRequest(
            model="bench", messages=[gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_USER, content=PROMPT)], max_tokens=16
        )
        md = (("x-api-key", KEY),)

        async def http_once(t: Target) -> float:
            start = time.perf_counter()
            async with sessions[t.name].post(t.url, data=t.payload, headers=t.headers) as resp:
                await resp.read()
                assert resp.status == 200, f"{t.name}: HTTP {resp.status}"
            return (time.perf_counter() - start) * 1000

        async def grpc_once(stub: gateway_pb2_grpc.LLMGatewayStub) -> float:
            start = time.perf_counter()
            await stub.Complete(req, metadata=md, timeout=10)
            return (time.perf_counter() - start) * 1000

        per_block = max(1, self.args.latency_requests // 5)
        try:
            for _ in range(5):
                for t in self.targets:
                    for _ in range(20):  # warm the connection after the other targets' turn
                        await http_once(t)
                    samples[t.name] += [await http_once(t) for _ in range(per_block)]
                for name, stub in stubs.items():
                    for _ in range(20):
                        await grpc_once(stub)
                    samples[name] += [await grpc_once(stub) for _ in range(per_block)]
        finally:
            for s in sessions.values():
                await s.close()
            for ch in channels.values():
                await ch.close()
        out: dict[str, Any] = {}
        base50, base99 = pct(samples["direct"], 50), pct(samples["direct"], 99)
        for name, values in samples.items():
            p50, p99 = pct(values, 50), pct(values, 99)
            out[name] = {
                "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3),
                "mean_ms": round(statistics.fmean(values), 3),
            }
            if name != "direct":
                out[name]["added_p50_ms"] = round(p50 - base50, 3)
                out[name]["added_p99_ms"] = round(p99 - base99, 3)
        return out

    def cpu_s(self, pid: int | None) -> float:
        if pid is None:
            return 0.0
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return float(sum(c.cpu_times().user + c.cpu_times().system for c in procs))

    async def wrk(self, t: Target, concurrency: int) -> dict[str, Any]:
        script = self.tmp / f"{t.name}.lua"
        headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in t.headers.items())
        script.write_text(f'wrk.method = "POST"\nwrk.body = [[{t.payload.decode()}]]\n{headers}')
        cpu0 = self.cpu_s(t.pid)
        proc = await asyncio.create_subprocess_exec(
            "taskset",
            "-c",
            str(self.args.load_cpu),
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{self.args.duration_s}s",
            "-s",
            str(script),
            "--latency",
            t.url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out = (await proc.communicate())[0].decode()
        cpu = self.cpu_s(t.pid) - cpu0
        total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        res: dict[str, Any] = {
            "rps": round(rps, 1),
            "requests": total,
            "non_2xx": int(errors.group(1)) if errors else 0,
        }
        res["p50_ms"], res["p99_ms"] = to_ms(p50), to_ms(p99)
        if t.pid is not None and total:
            res["server_cpu_ms_per_req"] = round(cpu * 1000 / total, 4)
            res["server_cpu_util"] = round(cpu / self.args.duration_s, 3)
        return res

    async def grpc_load(self, name: str, concurrency: int) -> dict[str, Any]:
        """gRPC requests/s from this process (pinned to the load CPU): may be bounded by the Python client."""
        import grpc

        from agentplane.v1 import gateway_pb2, gateway_pb2_grpc

        address, pid = self.grpc_targets[name]
        channel = grpc.aio.insecure_channel(address)
        stub = gateway_pb2_grpc.LLMGatewayStub(channel)
        req = gateway_pb2.CompleteRequest(
            model="bench", messages=[gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_USER, content=PROMPT)], max_tokens=16
        )
        md = (("x-api-key", KEY),)
        done = 0
        errors = 0
        stop_at = time.monotonic() + self.args.duration_s

        async def worker() -> None:
            nonlocal done, errors
            while time.monotonic() < stop_at:
                try:
                    await stub.Complete(req, metadata=md, timeout=10)
                    done += 1
                except grpc.aio.AioRpcError:
                    errors += 1

        cpu0 = self.cpu_s(pid)
        client0 = time.process_time()
        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - start
        cpu = self.cpu_s(pid) - cpu0
        client_util = (time.process_time() - client0) / elapsed
        await channel.close()
        return {
            "rps": round(done / elapsed, 1),
            "requests": done,
            "errors": errors,
            "server_cpu_ms_per_req": round(cpu * 1000 / max(done, 1), 4),
            "server_cpu_util": round(cpu / elapsed, 3),
            "client_cpu_util": round(client_util, 3),
        }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def to_ms(match: re.Match[str] | None) -> float | None:
    if match is None:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 3)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    os.sched_setaffinity(0, {args.load_cpu})
    if args.nice:
        os.nice(args.nice)  # inherited by every process started below: all measured alike
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            await bench.start()
            latency = await bench.latency()
            throughput: dict[str, Any] = {}
            for t in bench.targets:
                throughput[t.name] = {f"c{c}": await bench.wrk(t, c) for c in args.concurrency}
            for name in bench.grpc_targets:
                throughput[name] = {f"c{c}": await bench.grpc_load(name, c) for c in args.concurrency}
        finally:
            bench.stop_all()
    return summarise(args, latency, throughput, bench.notes, load_before)


def summarise(
    args: argparse.Namespace,
    latency: dict[str, Any],
    throughput: dict[str, Any],
    notes: list[str],
    load_before: tuple[float, ...],
) -> dict[str, Any]:
    top_c = f"c{max(args.concurrency)}"
    http = throughput["gateway_http"][top_c]
    checks: dict[str, Any] = {
        "added_p50_ms_le_0.5": latency["gateway_http"]["added_p50_ms"] <= 0.5,
        "added_p99_ms_le_2": latency["gateway_http"]["added_p99_ms"] <= 2.0,
        "cache_hit_p50_ms_le_0.5": latency["gateway_http_cache_hit"]["p50_ms"] <= 0.5,
        f"http_rps_{top_c}_ge_3000": http["rps"] >= 3000,
        f"http_capacity_one_core_{top_c}_ge_3000": 1000 / http["server_cpu_ms_per_req"] >= 3000,
    }
    if "litellm_proxy" in throughput:
        ll = throughput["litellm_proxy"][top_c]
        checks["rps_vs_litellm"] = round(http["rps"] / ll["rps"], 2) if ll["rps"] else None
        checks["cpu_per_req_vs_litellm"] = round(ll["server_cpu_ms_per_req"] / http["server_cpu_ms_per_req"], 2)
    if "gateway_http_metrics_off" in throughput:
        off = throughput["gateway_http_metrics_off"][top_c]
        added_p50 = latency["gateway_http"]["p50_ms"] - latency["gateway_http_metrics_off"]["p50_ms"]
        checks["metrics_added_p50_ms"] = round(added_p50, 3)
        checks["metrics_added_p50_ms_le_0.05"] = added_p50 <= 0.05
        checks["metrics_rps_cost_pct"] = round(100 * (1 - http["rps"] / off["rps"]), 1) if off["rps"] else None
        checks["metrics_cpu_per_req_cost_pct"] = round(
            100 * (http["server_cpu_ms_per_req"] / off["server_cpu_ms_per_req"] - 1), 1
        )
        checks["metrics_cost_le_5pct"] = checks["metrics_cpu_per_req_cost_pct"] <= 5.0
    if "bare_aiohttp_passthrough" in throughput:
        bare = throughput["bare_aiohttp_passthrough"][top_c]
        checks["cpu_per_req_vs_bare_passthrough"] = round(
            http["server_cpu_ms_per_req"] / bare["server_cpu_ms_per_req"], 2
        )
    return {
        "benchmark": "gateway_overhead",
        "params": {
            "duration_s": args.duration_s,
            "latency_requests": args.latency_requests,
            "concurrency": args.concurrency,
            "gateway_cpu": args.gateway_cpu,
            "load_cpu": args.load_cpu,
            "peers": args.peers,
            "usage_backend": args.usage_backend,
            "nice": args.nice,
            "load_generator": "wrk (HTTP), grpc.aio client (gRPC)",
            "netns": not args.no_netns,
        },
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "aiohttp": aiohttp.__version__,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "latency_c1": latency,
        "throughput": throughput,
        "checks": checks,
        "notes": notes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration-s", type=int, default=5, help="seconds per throughput run")
    parser.add_argument("--latency-requests", type=int, default=1000, help="sequential requests per target at c=1")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--gateway-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    parser.add_argument(
        "--peers", default="bare,litellm,metrics_off", help="comma list: bare, litellm, metrics_off (empty for none)"
    )
    parser.add_argument("--litellm-venv", default=".venv-litellm")
    parser.add_argument("--usage-backend", default="sqlite", choices=["memory", "sqlite"])
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of every measured process (e.g. -10 on a shared machine)"
    )
    parser.add_argument(
        "--no-netns", action="store_true", help="do not isolate the run in a loopback-only network namespace"
    )
    parser.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.peers = [p for p in args.peers.split(",") if p]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    if not args.no_netns and not args.in_netns:
        # Re-run inside a new network namespace with only loopback up: peers cannot reach anything else.
        inner = " ".join([PY, *map(_quote, sys.argv), "--in-netns"])
        code = subprocess.call(["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {inner}"])
        raise SystemExit(code)
    print(json.dumps(asyncio.run(run(args)), indent=2))


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    main()

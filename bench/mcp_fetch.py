"""Benchmark: pages/s of the `fetch_page` MCP tool over stdio and streamable HTTP, through the real realtime service.

Reproduces the conditions of the independent harness of issue #18: `--pages` (300) real
documentation pages (Debian's python3.11-doc, debian-reference-en and debian-handbook,
as in bench/realtime_extract.py) served on 127.0.0.1; the realtime service's response
cache OFF; every page fetched exactly once per round (`fetch_page` with max_length
5000) by `--concurrency` callers; an MCP stdio client (the SDK's `Client`, which spawns
`agentplane mcp realtime --transport stdio`) and, for comparison, the same over
streamable HTTP and plain gRPC `Fetch`. Each process runs on its own: the site, the
realtime service (`python -m realtime.server`, API keys on, tenant limits lifted,
politeness delay 0 for 127.0.0.1) and the MCP servers. `--repeat` rounds interleave the
transports; the median round is reported with its p50 and CPU ms per page per process.
`--profile DIR` records py-spy flame graphs of the MCP server and the realtime service
during one extra stdio round at the first concurrency. Prints ONE JSON object.

    .venv/bin/python bench/mcp_fetch.py --pages 300 --concurrency 1,16 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVICE = "agentplane.v1.RealtimeData"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_site(port: int, pages: int, page_kb: int, corpus: str) -> None:
    """The local site (runs in its own process): /p/<n> pages and an allow-all robots.txt."""
    from aiohttp import web

    bodies = {str(n): body for n, body in enumerate(site_pages(corpus, pages, page_kb))}

    async def page(request: web.Request) -> web.Response:
        body = bodies.get(request.match_info["n"])
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nAllow: /\n")

    app = web.Application()
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/p/{n}", page)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def site_pages(corpus: str, pages: int, page_kb: int) -> list[bytes]:
    """`pages` documentation pages (corpus "docs") or generated articles of about `page_kb` KB ("articles")."""
    if corpus == "docs":
        from realtime_extract import load_corpus  # bench/ is this script's directory

        return [html for _, html in load_corpus(pages)]
    para = (
        "<p>The committee met on Tuesday to review the quarterly figures and agreed that the new "
        "<a href='/p/{n}'>distribution plan</a> should start next month, subject to a final check.</p>"
    )
    out = []
    for n in range(pages):
        paras = "".join(para.format(n=(n + i) % pages) for i in range(max(1, page_kb * 1024 // 220)))
        out.append(
            f"<!doctype html><html><head><meta charset='utf-8'><title>Article {n}</title></head>"
            f"<body><nav><a href='/'>Home</a></nav><main><h1>Article {n}</h1><h2>Summary</h2>{paras}"
            f"<ul><li>first point</li><li>second point</li></ul></main><footer>(c) bench</footer></body></html>"
        )
    return [page.encode() for page in out]


def start(argv: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL, **kwargs)


async def wait_ready(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await check():
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout_s:g}s")


async def drive(call: Callable[[str], Awaitable[None]], urls: list[str], concurrency: int) -> dict[str, Any]:
    """Every URL fetched once by `concurrency` workers: pages/s, latency percentiles, errors."""
    queue = iter(urls)
    latencies: list[float] = []
    errors: list[str] = []

    async def worker() -> None:
        for url in queue:
            t0 = time.perf_counter()
            try:
                await call(url)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    lat = sorted(latencies) or [0.0]
    return {
        "pages": len(latencies),
        "pages_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


class CpuMeter:
    """CPU seconds used by named processes between start() and stop()."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs
        self._before: dict[str, float] = {}

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def start(self) -> None:
        self._before = {name: self._cpu(p) for name, p in self.procs.items()}

    def per_page_ms(self, pages: int) -> dict[str, float]:
        return {
            name: round((self._cpu(p) - self._before[name]) * 1000 / max(pages, 1), 3) for name, p in self.procs.items()
        }


async def measure(
    name: str,
    call: Callable[[str], Awaitable[None]],
    urls: list[str],
    concurrency: int,
    procs: dict[str, psutil.Process],
) -> dict[str, Any]:
    await drive(call, urls[:4], 2)  # warm-up: connections, first imports
    meter = CpuMeter({"client": psutil.Process(), **procs})
    meter.start()
    result = await drive(call, urls, concurrency)
    result["cpu_ms_per_page"] = meter.per_page_ms(result["pages"])
    print(f"{name} c={concurrency}: {result['pages_per_s']} pages/s, p50 {result['p50_ms']} ms", file=sys.stderr)
    return result


def py_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` for `seconds` into `out` (a flame graph SVG)."""
    exe = Path(sys.executable).with_name("py-spy")
    argv = [str(exe), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "500", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx2
    from mcp import Client, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client

    from agentplane.platform import ensure_credentials
    from agentplane.rpc import ServiceChannel, unary
    from agentplane.supervisor import grpc_health_status
    from agentplane.v1 import realtime_pb2, realtime_pb2_grpc

    levels = [int(c) for c in args.concurrency.split(",")]
    transports = args.transports.split(",")
    data_dir = Path(tempfile.mkdtemp(prefix="mcp-fetch-bench-"))
    key = ensure_credentials(data_dir).key_for("acme-user")
    site_port, grpc_port = free_port(), free_port()
    address = f"127.0.0.1:{grpc_port}"
    base_env = {"AGENTPLANE_DATA_DIR": str(data_dir), "AGENTPLANE_LOG__LEVEL": "warning"}
    rt_env = {
        **base_env,
        "AGENTPLANE_REALTIME__SERVER__PORT": str(grpc_port),
        "AGENTPLANE_REALTIME__LIMITS": json.dumps(
            {"default": {"rate_per_s": 1e6, "burst": 1000000, "max_concurrent": 4096}}
        ),
        "AGENTPLANE_REALTIME__SSRF__ALLOW": json.dumps([f"127.0.0.1:{site_port}"]),
        "AGENTPLANE_REALTIME__POLITENESS__HOSTS": json.dumps({"127.0.0.1": {"max_concurrent": 256, "min_delay_s": 0}}),
        "AGENTPLANE_REALTIME__WATCH__ENABLED": "false",
        "AGENTPLANE_REALTIME__CACHE__ENABLED": str(args.cache == "use").lower(),
    }
    mcp_cmd = [str(Path(sys.executable).with_name("agentplane")), "mcp", "realtime", "--address", address]
    procs: list[subprocess.Popen[bytes]] = []
    out: dict[str, Any] = {
        "bench": "mcp_fetch",
        "params": {
            k: getattr(args, k)
            for k in ("corpus", "pages", "concurrency", "transports", "repeat", "cache", "max_length", "json_response")
        },
        "cpus": os.cpu_count(),
    }
    try:
        site = start([sys.executable, __file__, "--serve-site", str(site_port), "--pages", str(args.pages),
                      "--page-kb", str(args.page_kb), "--corpus", args.corpus], {})  # fmt: skip
        realtime = start([sys.executable, "-m", "realtime.server"], rt_env)
        http_env = {**base_env, "AGENTPLANE_MCP__HTTP__JSON_RESPONSE": str(args.json_response).lower()}
        http_mcp = start([*mcp_cmd, "--transport", "http", "--port", "0"], http_env, stdout=subprocess.PIPE)
        procs += [site, realtime, http_mcp]
        assert http_mcp.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(http_mcp.stdout.readline), 90)
        mcp_url = json.loads(line)["url"]
        await wait_ready(lambda: _serving(grpc_health_status, address), "realtime service")
        urls = [f"http://127.0.0.1:{site_port}/p/{n}" for n in range(args.pages)]
        arguments = {"max_length": args.max_length, "bypass_cache": args.cache == "bypass"}
        running = {"realtime": psutil.Process(realtime.pid), "site": psutil.Process(site.pid)}

        stdio = StdioServerParameters(
            command=mcp_cmd[0],
            args=[*mcp_cmd[1:], "--transport", "stdio", "--api-key", key],
            env=base_env,
            cwd=str(ROOT),
        )
        async with contextlib.AsyncExitStack() as stack:
            channel = await stack.enter_async_context(ServiceChannel([address], api_key=key))
            stub = realtime_pb2_grpc.RealtimeDataStub(channel.channel)
            options = realtime_pb2.FetchOptions(
                max_length=args.max_length,
                bypass_cache=args.cache == "bypass",
                format=realtime_pb2.CONTENT_FORMAT_MARKDOWN,
            )

            async def grpc_fetch(url: str) -> None:
                await unary(stub.Fetch, realtime_pb2.FetchRequest(url=url, options=options))

            await wait_ready(lambda: _fetches(grpc_fetch, urls[0]), "the local site", timeout_s=300)
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
            )
            http_client = await stack.enter_async_context(Client(streamable_http_client(mcp_url, http_client=http)))
            stdio_client = await stack.enter_async_context(Client(stdio))
            child = next(c for c in psutil.Process().children() if "stdio" in c.cmdline())
            calls = {
                "grpc_baseline": (grpc_fetch, running),
                "mcp_http": (_tool(http_client, arguments), {**running, "mcp_server": psutil.Process(http_mcp.pid)}),
                "mcp_stdio": (_tool(stdio_client, arguments), {**running, "mcp_server": child}),
            }
            wanted = {"grpc": "grpc_baseline", "http": "mcp_http", "stdio": "mcp_stdio"}
            runs: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.repeat):  # interleaved, so a busy moment on a shared machine hits every transport
                for level in levels:
                    for transport in transports:
                        name = wanted[transport]
                        call, meter_procs = calls[name]
                        result = await measure(name, call, urls, level, meter_procs)
                        runs.setdefault(f"{name}_c{level}", []).append(result)
            for name, results in runs.items():
                best = sorted(results, key=lambda r: r["pages_per_s"])[len(results) // 2]
                out[name] = {**best, "pages_per_s_runs": [r["pages_per_s"] for r in results]}
            if args.profile:
                folder = Path(args.profile)
                await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
                call, _ = calls["mcp_stdio"]
                await drive(call, urls[:4], 1)
                t0 = time.perf_counter()
                await drive(call, urls, levels[0])
                seconds = max(2.0, (time.perf_counter() - t0) * 1.5)
                spies = [py_spy(child.pid, folder / "mcp_server.svg", seconds),
                         py_spy(realtime.pid, folder / "realtime.svg", seconds)]  # fmt: skip
                until = time.perf_counter() + seconds
                while time.perf_counter() < until:
                    await drive(call, urls, levels[0])
                for spy in spies:
                    spy.wait(timeout=60)
                out["profile"] = [str(folder / "mcp_server.svg"), str(folder / "realtime.svg")]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    targets = {1: 100, 16: 300}
    out["targets_pages_per_s"] = {f"mcp_stdio_c{c}": t for c, t in targets.items() if c in levels}
    out["meets_targets"] = all(
        out[name]["pages_per_s"] >= target for name, target in out["targets_pages_per_s"].items() if name in out
    )
    return out


def _tool(client: Any, arguments: dict[str, Any]) -> Callable[[str], Awaitable[None]]:
    async def call(url: str) -> None:
        result = await client.call_tool("fetch_page", {"url": url, **arguments})
        if result.is_error:
            raise RuntimeError(result.content[0].text[:200])
        if not result.structured_content["markdown"]:
            raise RuntimeError("empty page")

    return call


async def _serving(check: Callable[..., Awaitable[str]], address: str) -> bool:
    return await check(address, SERVICE) == "SERVING"


async def _fetches(call: Callable[[str], Awaitable[None]], url: str) -> bool:
    await call(url)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("docs", "articles"), default="docs", help="documentation or generated")
    parser.add_argument("--pages", type=int, default=300, help="distinct pages on the local site")
    parser.add_argument("--page-kb", type=int, default=16, help="approximate size of each generated article")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated fetch_page calls in flight")
    parser.add_argument("--transports", default="stdio,http,grpc", help="comma-separated: stdio, http, grpc")
    parser.add_argument("--cache", choices=("off", "bypass", "use"), default="off", help="the service's response cache")
    parser.add_argument("--max-length", type=int, default=5000, help="characters of markdown per call")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; the median round is reported")
    parser.add_argument("--json-response", action="store_true", help="HTTP server answers plain JSON, not SSE")
    parser.add_argument("--profile", help="folder for py-spy flame graphs of one extra stdio round")
    parser.add_argument("--serve-site", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_site:
        serve_site(args.serve_site, args.pages, args.page_kb, args.corpus)
        return
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()

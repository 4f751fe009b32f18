"""Benchmark: parse + extract speed, end-to-end fetch + extract, and the reference MCP fetch server.

Corpus: real HTML that nobody here wrote, from Debian documentation packages
(python3.11-doc, debian-reference-en, debian-handbook), fetched with
`apt-get download` into .cache/realtime-bench and unpacked with `dpkg-deb -x`.

Measures, in one run, and prints ONE JSON object:
1. parse + extract over the corpus in-process (pages/s, MB/s): selectolax (raw
   selectors and the realtime extraction engine) vs lxml (+cssselect) vs
   BeautifulSoup (lxml and html.parser back ends), same fields for all;
2. end to end against a local aiohttp server on 127.0.0.1 (separate process) at
   each concurrency: a bare aiohttp + selectolax loop (its own process);
   realtime `Extract` over gRPC; realtime `Fetch` (markdown) over gRPC (the
   realtime server is `python -m realtime.server` in its own process, robots.txt
   obeyed). With --pin (default on 2+ CPUs) the worker under test, i.e. the bare
   loop or the realtime server, runs on CPU 1 and the site and the load driver
   (the gRPC client) on CPU 0, so both sides get the same one core. `--repeat`
   rounds interleave the three measurements per level; medians are reported;
3. the reference server `mcp-server-fetch` (own venv .venv-mcpfetch, created
   with pip when missing) called through an MCP client over stdio, `fetch` tool,
   same pages, same max_length, robots.txt checked, at the reference levels.

Usage: .venv/bin/python bench/realtime_extract.py [--pages 400] [--concurrency 1,16,64]
       [--seconds 5] [--repeat 3] [--no-pin] [--reference-concurrency 1,16] [--reference-seconds 20]
       [--no-reference]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".cache" / "realtime-bench"
PACKAGES = ("python3.11-doc", "debian-reference-en", "debian-handbook")
REF_VENV = ROOT / ".venv-mcpfetch"
REF_PIN = "mcp-server-fetch==2026.10.24"
MAX_LENGTH = 20_000
FIELDS = {"title": "title", "heading": "h1", "sections": "h2", "links": "a[href]", "code": "pre", "lead": "p"}
MULTIPLE = {"sections", "links", "code"}


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _canon(value: Any) -> Any:
    """Compare extractions across parsers without whitespace (they place separators differently)."""
    if isinstance(value, str):
        return "".join(value.split())
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- corpus
def load_corpus(pages: int) -> list[tuple[str, bytes]]:
    """Download (once) and unpack the Debian doc packages; return (path, html) for `pages` pages."""
    debs, unpacked = CACHE / "debs", CACHE / "root"
    if not unpacked.exists():
        debs.mkdir(parents=True, exist_ok=True)
        if subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, capture_output=True, check=False).returncode:
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, check=True, capture_output=True)
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    files = sorted(
        p
        for p in unpacked.rglob("*.html")
        if ("debian-handbook" not in str(p) or "/en-US/" in str(p)) and 2_000 <= p.stat().st_size <= 2_000_000
    )
    step = max(1, len(files) // pages)
    chosen = files[::step][:pages]
    return [(str(p.relative_to(unpacked)), p.read_bytes()) for p in chosen]


# ---------------------------------------------------------------- parsers
def extract_selectolax(html: bytes) -> dict[str, Any]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    out: dict[str, Any] = {}
    for name, sel in FIELDS.items():
        if name == "links":
            out[name] = [n.attributes.get("href") for n in tree.css(sel)]
        elif name in MULTIPLE:
            out[name] = [_norm(n.text(deep=True, separator=" ")) for n in tree.css(sel)]
        else:
            node = tree.css_first(sel)
            out[name] = _norm(node.text(deep=True, separator=" ")) if node is not None else None
    return out


def make_lxml() -> Callable[[bytes], dict[str, Any]]:
    import lxml.html  # type: ignore[import-untyped]
    from lxml.cssselect import CSSSelector  # type: ignore[import-untyped]

    selectors = {name: CSSSelector(sel) for name, sel in FIELDS.items()}

    def run(html: bytes) -> dict[str, Any]:
        doc = lxml.html.document_fromstring(html)
        out: dict[str, Any] = {}
        for name, sel in selectors.items():
            found = sel(doc)
            if name == "links":
                out[name] = [n.get("href") for n in found]
            elif name in MULTIPLE:
                out[name] = [_norm(n.text_content()) for n in found]
            else:
                out[name] = _norm(found[0].text_content()) if found else None
        return out

    return run


def make_bs4(parser: str) -> Callable[[bytes], dict[str, Any]]:
    from bs4 import BeautifulSoup

    def run(html: bytes) -> dict[str, Any]:
        soup = BeautifulSoup(html, parser)
        out: dict[str, Any] = {}
        for name, sel in FIELDS.items():
            if name == "links":
                out[name] = [n.get("href") for n in soup.select(sel)]
            elif name in MULTIPLE:
                out[name] = [_norm(n.get_text(" ")) for n in soup.select(sel)]
            else:
                node = soup.select_one(sel)
                out[name] = _norm(node.get_text(" ")) if node is not None else None
        return out

    return run


def make_engine() -> Callable[[bytes], dict[str, Any]]:
    from realtime.config import ExtractionLimits
    from realtime.extraction import FieldSpec, validate_schema
    from realtime.injection import InjectionScanner
    from realtime.page import Page

    specs = tuple(
        FieldSpec(n, s, attribute="href" if n == "links" else "", multiple=n in MULTIPLE) for n, s in FIELDS.items()
    )
    schema = validate_schema("docs", specs, ExtractionLimits())
    scanner = InjectionScanner()

    def run(html: bytes) -> dict[str, Any]:
        page = Page(html, "text/html", "utf-8", "http://127.0.0.1/", scanner)
        return page.extract(schema, 100_000).data

    return run


def parse_extract(corpus: list[tuple[str, bytes]], budget_s: float) -> dict[str, Any]:
    runners = {
        "selectolax": extract_selectolax,
        "selectolax_realtime_engine": make_engine(),
        "lxml_cssselect": make_lxml(),
        "bs4_lxml": make_bs4("lxml"),
        "bs4_html_parser": make_bs4("html.parser"),
    }
    results: dict[str, Any] = {}
    reference = [_canon(extract_selectolax(html)) for _, html in corpus]
    for name, run in runners.items():
        pages = nbytes = same = 0
        start = time.perf_counter()
        cpu = time.process_time()
        for index, (_, html) in enumerate(corpus):
            data = run(html)
            pages += 1
            nbytes += len(html)
            same += _canon(data) == reference[index]
            if time.perf_counter() - start > budget_s:
                break
        wall = time.perf_counter() - start
        results[name] = {
            "pages": pages,
            "pages_per_s": round(pages / wall, 1),
            "mb_per_s": round(nbytes / wall / 1e6, 2),
            "cpu_ms_per_page": round((time.process_time() - cpu) * 1000 / pages, 2),
            "same_result_as_selectolax": round(same / pages, 3),
        }
    base = results["selectolax"]["pages_per_s"]
    for row in results.values():
        row["selectolax_speedup"] = round(base / row["pages_per_s"], 1)
    return results


# ---------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_corpus(port: int) -> None:
    """Child process: serve the unpacked corpus from memory (no validators, no compression)."""
    import uvloop
    from aiohttp import web

    root = CACHE / "root"
    pages = {"/" + str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.html")}

    async def page(request: web.Request) -> web.Response:
        body = pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="no such page")
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /private/\n", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/{tail:.*}", page)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop())


def start_process(
    argv: list[str], env: dict[str, str] | None = None, cpu: int | None = None
) -> subprocess.Popen[bytes]:
    """Start `argv` from the repository root, pinned to `cpu` when given."""
    pinned = ["taskset", "-c", str(cpu), *argv] if cpu is not None else argv
    return subprocess.Popen(pinned, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)


async def wait_http(url: str, timeout_s: float = 60) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with s.get(url) as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def wait_grpc(address: str, timeout_s: float = 60) -> None:
    from agentplane.supervisor import grpc_health_status

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await grpc_health_status(address, "agentplane.v1.RealtimeData") == "SERVING":
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"realtime server on {address} did not become SERVING")


def realtime_env(data_dir: str, grpc_port: int, site_port: int) -> dict[str, str]:
    """Auth off and tenant limits lifted for the benchmark; the site's port allowed through the guard."""
    return {
        "AGENTPLANE_DATA_DIR": data_dir,
        "AGENTPLANE_REALTIME__SERVER__PORT": str(grpc_port),
        "AGENTPLANE_REALTIME__AUTH__ENABLED": "false",
        "AGENTPLANE_REALTIME__LIMITS": json.dumps(
            {"default": {"rate_per_s": 1e6, "burst": 1000000, "max_concurrent": 4096}}
        ),
        "AGENTPLANE_REALTIME__SSRF__ALLOW": json.dumps([f"127.0.0.1:{site_port}"]),
        "AGENTPLANE_REALTIME__POLITENESS__HOSTS": json.dumps({"127.0.0.1": {"max_concurrent": 256, "min_delay_s": 0}}),
        "AGENTPLANE_REALTIME__WATCH__ENABLED": "false",
        "AGENTPLANE_REALTIME__LOG__LEVEL": "warning",
    }


# ---------------------------------------------------------------- load loops
async def drive(
    call: Callable[[str], Any], urls: list[str], concurrency: int, seconds: float, call_timeout_s: float = 60.0
) -> dict[str, Any]:
    """Run `call(url)` from `concurrency` workers for `seconds` (each call at most `call_timeout_s`)."""
    cycle = itertools.cycle(urls)
    latencies: list[float] = []
    errors: list[str] = []
    nbytes = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal nbytes
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            try:
                size = await asyncio.wait_for(call(next(cycle)), call_timeout_s)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            latencies.append(time.perf_counter() - t0)
            nbytes += size

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    lat = sorted(latencies) or [0.0]
    return {
        "pages": len(latencies),
        "pages_per_s": round(len(latencies) / wall, 1),
        "mb_per_s": round(nbytes / wall / 1e6, 2),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def bare_loop_child(site: str, pages: int) -> None:
    """Child process: the bare aiohttp + selectolax loop, one level per stdin line ("level seconds")."""
    import aiohttp
    import uvloop

    urls = [f"{site}/{p}" for p, _ in load_corpus(pages)]

    async def serve() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def bare(url: str) -> int:
                async with http.get(url) as resp:
                    body = await resp.read()
                extract_selectolax(body)
                return len(body)

            await drive(bare, urls[:20], 4, 1.0)  # warm-up: connections
            print("ready", flush=True)
            for line in sys.stdin:
                level, seconds = line.split()
                cpu0 = time.process_time()
                row = await drive(bare, urls, int(level), float(seconds))
                row["worker_cpu_ms_per_page"] = round((time.process_time() - cpu0) * 1000 / max(1, row["pages"]), 2)
                print(json.dumps(row), flush=True)

    uvloop.run(serve())


class BareLoop:
    """The bare loop's child process, driven one measurement at a time."""

    def __init__(self, site: str, pages: int, cpu: int | None) -> None:
        argv = [sys.executable, __file__, "--bare-loop", site, "--pages", str(pages)]
        argv = ["taskset", "-c", str(cpu), *argv] if cpu is not None else argv
        self._proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    async def _line(self) -> str:
        assert self._proc.stdout is not None
        line = await asyncio.to_thread(self._proc.stdout.readline)
        if not line:
            raise RuntimeError("the bare loop process exited")
        return line

    async def ready(self) -> None:
        """Wait for the child's warm-up."""
        await self._line()

    async def measure(self, level: int, seconds: float) -> dict[str, Any]:
        """One measurement at `level` for `seconds`."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{level} {seconds}\n")
        self._proc.stdin.flush()
        return dict(json.loads(await self._line()))

    def close(self) -> None:
        """Stop the child."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def _median_row(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-key median of numeric fields over rounds (the first error is kept)."""
    out: dict[str, Any] = {}
    for key, value in rounds[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = round(statistics.median(r[key] for r in rounds), 3)
    out["errors"] = sum(r["errors"] for r in rounds)
    out["first_error"] = next((r["first_error"] for r in rounds if r["first_error"]), None)
    out["rounds_pages_per_s"] = [r["pages_per_s"] for r in rounds]
    return out


async def end_to_end(
    site: str, corpus: list[tuple[str, bytes]], address: str, args: argparse.Namespace, pid: int, bare_loop: BareLoop
) -> dict[str, Any]:
    import psutil  # type: ignore[import-untyped]

    from agentplane.rpc import ServiceChannel
    from agentplane.v1 import realtime_pb2 as pb
    from agentplane.v1 import realtime_pb2_grpc

    urls = [f"{site}/{p}" for p, _ in corpus]
    sizes = {f"{site}/{p}": len(b) for p, b in corpus}
    schema = pb.ExtractionSchema(
        name="docs",
        fields=[
            pb.FieldSpec(name=n, selector=s, attribute="href" if n == "links" else "", multiple=n in MULTIPLE)
            for n, s in FIELDS.items()
        ],
    )
    server = psutil.Process(pid)
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {f"c{level}": {} for level in args.levels}
    async with ServiceChannel([address], api_key="") as channel:
        stub = realtime_pb2_grpc.RealtimeDataStub(channel.channel)

        async def grpc_extract(url: str) -> int:
            opts = pb.FetchOptions(bypass_cache=True)
            await stub.Extract(pb.ExtractRequest(url=url, schema=schema, options=opts), timeout=60)
            return sizes[url]

        async def grpc_fetch(url: str) -> int:
            opts = pb.FetchOptions(bypass_cache=True, max_length=MAX_LENGTH, format=pb.CONTENT_FORMAT_MARKDOWN)
            resp = await stub.Fetch(pb.FetchRequest(url=url, options=opts), timeout=60)
            return int(resp.content_bytes)

        async def service(call: Callable[[str], Any], level: int) -> dict[str, Any]:
            cpu0 = server.cpu_times()
            row = await drive(call, urls, level, args.seconds)
            cpu = server.cpu_times()
            used = (cpu.user - cpu0.user) + (cpu.system - cpu0.system)
            row["worker_cpu_ms_per_page"] = round(used * 1000 / max(1, row["pages"]), 2)
            return row

        await drive(grpc_extract, urls[:20], 4, 1.0)  # warm-up: robots.txt, connections
        await bare_loop.ready()
        for _ in range(args.repeat):
            for level in args.levels:
                cell = rounds[f"c{level}"]
                cell.setdefault("bare_aiohttp_selectolax", []).append(await bare_loop.measure(level, args.seconds))
                cell.setdefault("grpc_extract", []).append(await service(grpc_extract, level))
                cell.setdefault("grpc_fetch_markdown", []).append(await service(grpc_fetch, level))
    out: dict[str, Any] = {}
    for name, cell in rounds.items():
        row: dict[str, Any] = {kind: _median_row(runs) for kind, runs in cell.items()}
        ratios = [
            e["pages_per_s"] / max(b["pages_per_s"], 1e-9)
            for b, e in zip(cell["bare_aiohttp_selectolax"], cell["grpc_extract"], strict=True)
        ]
        row["grpc_extract_vs_bare"] = round(statistics.median(ratios), 3)
        row["grpc_extract_vs_bare_rounds"] = [round(r, 3) for r in ratios]
        out[name] = row
    return out


# ---------------------------------------------------------------- reference
def ensure_reference_venv() -> Path:
    python = REF_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", REF_PIN], check=True)
    return python


async def reference(site: str, corpus: list[tuple[str, bytes]], levels: list[int], seconds: float) -> dict[str, Any]:
    from mcp import Client, StdioServerParameters

    python = ensure_reference_venv()
    params = StdioServerParameters(command=str(python), args=["-m", "mcp_server_fetch", "--allow-private-ips"])
    urls = [f"{site}/{p}" for p, _ in corpus]
    sizes = {f"{site}/{p}": len(b) for p, b in corpus}
    out: dict[str, Any] = {"server": REF_PIN, "transport": "stdio", "robots_txt": "checked per call (not cached)"}
    async with Client(params) as client:

        async def fetch(url: str) -> int:
            result = await client.call_tool("fetch", {"url": url, "max_length": MAX_LENGTH})
            if result.is_error:
                raise RuntimeError(str(result.content[0])[:200])
            return sizes[url]

        out["warmup"] = await drive(fetch, urls[:1], 1, 0.1, 300)  # the first call may run readabilipy's npm install
        for level in levels:
            out[f"c{level}"] = await drive(fetch, urls, level, seconds, 120)
    return out


# ---------------------------------------------------------------- main
async def run(args: argparse.Namespace, corpus: list[tuple[str, bytes]]) -> dict[str, Any]:
    site_port, grpc_port = free_port(), free_port()
    driver_cpu, worker_cpu = (0, 1) if args.pin else (None, None)
    site_proc = start_process([sys.executable, __file__, "--serve-corpus", str(site_port)], cpu=driver_cpu)
    data_dir = tempfile.mkdtemp(prefix="realtime-bench-")
    rt_proc = start_process(
        [sys.executable, "-m", "realtime.server"], realtime_env(data_dir, grpc_port, site_port), cpu=worker_cpu
    )
    site = f"http://127.0.0.1:{site_port}"
    result: dict[str, Any] = {}
    bare_loop: BareLoop | None = None
    try:
        await wait_http(f"{site}/robots.txt")
        await wait_grpc(f"127.0.0.1:{grpc_port}")
        bare_loop = BareLoop(site, args.pages, worker_cpu)
        address = f"127.0.0.1:{grpc_port}"
        result["end_to_end"] = await end_to_end(site, corpus, address, args, rt_proc.pid, bare_loop)
        if args.reference:
            try:
                result["reference"] = await reference(site, corpus, args.ref_levels, args.reference_seconds)
            except Exception as exc:
                result["reference"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        if bare_loop is not None:
            bare_loop.close()
        for proc in (rt_proc, site_proc):
            proc.terminate()
            proc.wait(timeout=30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=400, help="corpus pages")
    parser.add_argument("--concurrency", default="1,16,64", help="end-to-end concurrency levels")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per end-to-end measurement")
    parser.add_argument("--parse-seconds", type=float, default=8.0, help="time budget per parser")
    parser.add_argument("--reference-concurrency", default="1,16", help="levels for the reference MCP server")
    parser.add_argument("--reference-seconds", type=float, default=20.0, help="seconds per reference level")
    parser.add_argument("--no-reference", dest="reference", action="store_false", help="skip mcp-server-fetch")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved end-to-end rounds (medians reported)")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="do not pin (default: worker on CPU 1, site+driver on 0)"
    )
    parser.add_argument("--serve-corpus", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare-loop", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_corpus:
        serve_corpus(args.serve_corpus)
        return
    if args.bare_loop:
        bare_loop_child(args.bare_loop, args.pages)
        return
    args.pin = args.pin and (os.cpu_count() or 1) >= 2
    args.levels = [int(x) for x in args.concurrency.split(",")]
    args.ref_levels = [int(x) for x in args.reference_concurrency.split(",")]
    corpus = load_corpus(args.pages)
    import uvloop

    result: dict[str, Any] = {
        "params": {k: v for k, v in vars(args).items() if k not in ("serve_corpus", "bare_loop")},
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg": [round(x, 1) for x in os.getloadavg()],
            "python": sys.version.split()[0],
            "event_loop": "uvloop",
            "pinning": "worker (bare loop / realtime server) and in-process parsers on CPU 1; site and driver on CPU 0"
            if args.pin
            else "none",
        },
        "corpus": {
            "packages": list(PACKAGES),
            "pages": len(corpus),
            "mb": round(sum(len(b) for _, b in corpus) / 1e6, 2),
            "mean_kb": round(sum(len(b) for _, b in corpus) / len(corpus) / 1e3, 1),
        },
    }
    if args.pin:
        os.sched_setaffinity(0, {1})
    result["parse_extract"] = parse_extract(corpus, args.parse_seconds)
    if args.pin:
        os.sched_setaffinity(0, {0})  # before any thread starts: gRPC's threads inherit it
    result.update(uvloop.run(run(args, corpus)))
    ref = result.get("reference", {})
    e2e = result["end_to_end"]
    result["targets"] = {
        "grpc_extract_vs_bare_min": min(row["grpc_extract_vs_bare"] for row in e2e.values()),
        "fetch_vs_reference": {
            level: round(e2e[level]["grpc_fetch_markdown"]["pages_per_s"] / max(ref[level]["pages_per_s"], 1e-9), 1)
            for level in e2e
            if level in ref and isinstance(ref[level], dict)
        },
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""`agentplane top`: a live terminal view of the running platform, read from the metrics endpoints.

Layer: shared core, CLI (rich for the terminal, aiohttp for the scrapes). Every
`--interval-s` it scrapes each service's /metrics (every replica listed in
`endpoints.metrics`), compares with the previous scrape and shows, per service,
calls/s, errors/s, p50/p99 latency, calls in flight and refusals; for the controller,
tasks/s by route and outcome, the queue, the escalation rate and the review queue; the
circuit breakers of every service; the gateway's cache hit ratio, tokens/s and time to
first token. `--once` prints one frame (two scrapes an interval apart) and exits.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agentplane.metrics.scrape import Snapshot, Window, scrape
from agentplane.platform import PlatformSettings
from agentplane.settings import load_settings

__all__ = ["SERVICES", "TopView", "collect", "register", "render", "run_top"]

SERVICES = ("controller", "gateway", "domain_inference", "realtime")
_OUTCOMES = ("completed", "needs_review", "needs_clarification", "failed", "rejected", "cancelled")
_STATE_STYLE = {"closed": "green", "half_open": "yellow", "open": "bold red"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `top` command."""
    parser = sub.add_parser("top", help="live view of the running platform (from the metrics endpoints)")
    parser.add_argument("--interval-s", type=float, default=2.0, help="seconds between scrapes (2)")
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument("--api-key", default=None, help="key of role `metrics` when the endpoints require one")
    parser.add_argument("--https", action="store_true", help="the endpoints serve TLS")
    parser.add_argument("--width", type=int, default=None, help="columns (default: the terminal's)")
    parser.set_defaults(func=run_top)


@dataclass(frozen=True)
class TopView:
    """What one frame shows: per service, the window between two scrapes (None: not reachable)."""

    windows: Mapping[str, Window | None]
    errors: Mapping[str, str]
    interval_s: float


def _endpoints(settings: PlatformSettings, https: bool) -> dict[str, list[str]]:
    scheme = "https" if https else "http"
    return {name: [f"{scheme}://{a}/metrics" for a in getattr(settings.endpoints.metrics, name)] for name in SERVICES}


async def collect(
    session: aiohttp.ClientSession, endpoints: Mapping[str, Sequence[str]], api_key: str | None
) -> tuple[dict[str, Snapshot | None], dict[str, str]]:
    """One scrape of every endpoint; replicas of a service are merged."""
    urls = [(name, url) for name, group in endpoints.items() for url in group]
    results = await asyncio.gather(*(scrape(session, url, api_key=api_key) for _, url in urls), return_exceptions=True)
    parts: dict[str, list[Snapshot]] = {name: [] for name in endpoints}
    errors: dict[str, str] = {}
    for (name, url), result in zip(urls, results, strict=True):
        if isinstance(result, Snapshot):
            parts[name].append(result)
        else:
            errors[name] = f"{url}: {type(result).__name__} {result}".strip()
    return {name: Snapshot.merge(snaps) if snaps else None for name, snaps in parts.items()}, errors


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _num(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def _services_table(view: TopView) -> Table:
    table = Table(title="services", title_justify="left", expand=True)
    for col in ("service", "calls/s", "errors/s", "p50 ms", "p99 ms", "in flight", "refused/s", "status"):
        table.add_column(col, justify="left" if col in ("service", "status") else "right", no_wrap=True)
    for name, window in view.windows.items():
        if window is None:
            table.add_row(name, "-", "-", "-", "-", "-", "-", Text("unreachable", "bold red"))
            continue
        handled = "agentplane_grpc_server_handled_total"
        calls = window.rate(handled)
        errors = calls - window.rate(handled, grpc_code="OK")
        hist = "agentplane_grpc_server_handling_seconds"
        table.add_row(
            name,
            _num(calls),
            Text(_num(errors), "red" if errors > 0 else ""),
            _ms(window.quantile(0.5, hist)),
            _ms(window.quantile(0.99, hist)),
            _num(window.after.value("agentplane_grpc_server_in_flight"), 0),
            _num(window.rate("agentplane_admission_refusals_total")),
            Text("up", "green"),
        )
    return table


def _tasks(window: Window) -> RenderableType:
    table = Table(title="controller tasks", title_justify="left", expand=True)
    for col in ("route", "tasks/s", *_OUTCOMES, "p50 s", "p99 s"):
        table.add_column(col, justify="left" if col == "route" else "right")
    tasks = "agentplane_controller_tasks_total"
    routes = sorted(r for r in window.after.by(tasks, "route") if r)
    for route in routes:
        by_outcome = window.rate_by(tasks, "outcome", route=route)
        hist = "agentplane_controller_task_seconds"
        table.add_row(
            route,
            _num(sum(by_outcome.values()), 2),
            *(_num(by_outcome.get(o, 0.0), 2) for o in _OUTCOMES),
            _num(q, 2) if (q := window.quantile(0.5, hist, route=route)) is not None else "-",
            _num(q, 2) if (q := window.quantile(0.99, hist, route=route)) is not None else "-",
        )
    settled = window.increase(tasks)
    escalated = window.increase("agentplane_controller_escalations_total")
    clarified = window.increase("agentplane_controller_clarifications_total")
    snap = window.after
    oldest = snap.value("agentplane_controller_review_oldest_age_seconds")
    line = Text.assemble(
        ("queue ", "bold"),
        f"{snap.value('agentplane_controller_queue_depth'):.0f} queued · "
        f"{snap.value('agentplane_controller_running_tasks'):.0f} running · "
        f"backlog {snap.value('agentplane_controller_backlog'):.0f}   ",
        ("escalation rate ", "bold"),
        f"{100 * escalated / settled:.1f}%" if settled else "-",
        f" (clarify {100 * clarified / settled:.1f}%)   " if settled else "   ",
        ("reviews ", "bold"),
        f"{snap.value('agentplane_controller_reviews_pending'):.0f} pending, oldest {oldest / 60:.1f} min",
    )
    return Group(table, line)


def _breakers(view: TopView) -> Table:
    table = Table(title="circuit breakers", title_justify="left", expand=True)
    table.add_column("service")
    table.add_column("breaker")
    table.add_column("state")
    for name, window in view.windows.items():
        if window is None:
            continue
        for sample in window.after.samples("agentplane_breaker_state"):
            if sample.value == 1.0:
                state = sample.labels.get("state", "")
                table.add_row(name, sample.labels.get("breaker", ""), Text(state, _STATE_STYLE.get(state, "")))
    return table


def _gateway(window: Window) -> Text:
    lookups = window.rate_by("agentplane_gateway_cache_lookups_total", "result")
    total = sum(lookups.values())
    ratio = f"{100 * lookups.get('hit', 0.0) / total:.1f}%" if total else "-"
    tokens = window.rate("agentplane_gateway_tokens_total")
    upstream = window.rate("agentplane_gateway_upstream_calls_total")
    failed = upstream - window.rate("agentplane_gateway_upstream_calls_total", outcome="ok")
    ttft = window.quantile(0.5, "agentplane_gateway_time_to_first_token_seconds")
    return Text.assemble(
        ("gateway ", "bold"),
        f"cache hit ratio {ratio} · upstream {upstream:.1f}/s ({failed:.1f}/s failed) · "
        f"tokens {tokens:.0f}/s · first token p50 {_ms(ttft)} ms",
    )


def render(view: TopView) -> RenderableType:
    """One frame of the view."""
    parts: list[RenderableType] = [
        Text(f"agentplane top · every {view.interval_s:g}s · Ctrl-C quits", style="dim"),
        _services_table(view),
    ]
    parts += [Text(f"{name}: {error}", style="red") for name, error in view.errors.items()]
    controller = view.windows.get("controller")
    if controller is not None:
        parts.append(_tasks(controller))
    gateway = view.windows.get("gateway")
    if gateway is not None:
        parts.append(_gateway(gateway))
    parts.append(_breakers(view))
    return Group(*parts)


def _view(
    before: Mapping[str, Snapshot | None],
    after: Mapping[str, Snapshot | None],
    errors: Mapping[str, str],
    interval: float,
) -> TopView:
    windows = {
        name: Window(b, a) if (b := before.get(name)) is not None and a is not None else None
        for name, a in after.items()
    }
    return TopView(windows, errors, interval)


async def run_top(args: argparse.Namespace) -> int:
    """Scrape and draw until Ctrl-C (or once with --once); exit 1 when no endpoint answers."""
    settings = load_settings(PlatformSettings, "cli")
    endpoints = _endpoints(settings, args.https)
    console = Console(width=args.width) if args.width else Console()
    async with aiohttp.ClientSession() as session:
        before, _ = await collect(session, endpoints, args.api_key)
        if args.once:
            await asyncio.sleep(args.interval_s)  # the window rates are measured over
            after, errors = await collect(session, endpoints, args.api_key)
            console.print(render(_view(before, after, errors, args.interval_s)))
            return 0 if any(s is not None for s in after.values()) else 1
        with Live(console=console, auto_refresh=False, screen=False) as live:
            while True:
                await asyncio.sleep(args.interval_s)
                after, errors = await collect(session, endpoints, args.api_key)
                live.update(render(_view(before, after, errors, args.interval_s)), refresh=True)
                before = after

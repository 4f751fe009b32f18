"""`agentplane up`: run the whole platform on its embedded defaults until Ctrl-C/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from dataclasses import replace
from typing import Any

from agentplane.platform import PlatformSettings, ensure_credentials, process_specs
from agentplane.settings import load_settings
from agentplane.supervisor import Supervisor

__all__ = ["register", "run_up"]


def register(sub: Any) -> None:
    """Add the `up` command."""
    parser: argparse.ArgumentParser = sub.add_parser("up", help="start every service and supervise them")
    parser.add_argument("--without", action="append", default=[], metavar="NAME", help="skip a process (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="print only the endpoints line and the exit codes")
    parser.set_defaults(func=run_up)


def _print(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def run_up(args: argparse.Namespace) -> int:
    """Start the platform, print its endpoints, run until a signal, stop it cleanly."""
    settings = load_settings(PlatformSettings, "up")
    creds = ensure_credentials(settings.data_dir)
    skip = set(args.without)
    specs = [
        replace(s, depends_on=tuple(d for d in s.depends_on if d not in skip))
        for s in process_specs(settings)
        if s.name not in skip
    ]
    verbose = not args.quiet
    sup = Supervisor(
        specs,
        settings.data_dir / "logs",
        pid_dir=settings.data_dir / "run",
        on_event=(lambda name, event: _print(f"{name}: {event}")) if verbose else None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(sup.start())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({starting, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if starting in done and starting.exception() is None:
        endpoints = settings.endpoints
        console = any(s.name == "console" for s in specs)
        print(
            "agentplane is up: "
            f"controller {endpoints.controller[0]}, gateway {endpoints.gateway[0]}, "
            f"domain_inference {endpoints.domain_inference[0]}, realtime {endpoints.realtime[0]}"
            + (f", review console http://{endpoints.console[0]}/" if console else ""),
            flush=True,
        )
        credentials = settings.data_dir / "credentials.toml"
        if console and verbose:
            who = f"the acme-reviewer key in {credentials}" if "acme-reviewer" in creds.keys else "a reviewer API key"
            _print(f"review console: http://{endpoints.console[0]}/  (sign in with {who})")
        if verbose:
            _print(f"logs in {settings.data_dir / 'logs'}; API keys in {credentials}")
            _print(f"try: agentplane submit 'What is the capital of France?'  (as {next(iter(creds.keys))})")
            metrics = ", ".join(at[0] for at in endpoints.metrics.model_dump().values())
            _print(f"live view: agentplane top  (metrics at {metrics})")
        await waiter
    else:
        waiter.cancel()
        if starting in done:
            print(f"agentplane up failed: {starting.exception()}", file=sys.stderr)
        starting.cancel()
    codes = await sup.stop()
    _print("stopped: " + ", ".join(f"{n}={c}" for n, c in codes.items()))
    failed = starting.done() and not starting.cancelled() and starting.exception() is not None
    return 1 if failed else 0

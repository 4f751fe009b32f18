"""Entry point of the `agentplane` command and its plug-in mechanism.

Layer: shared core, CLI. Built-in commands: `up`, `serve`, `status`, `top`, `keys`, `mcp`, `deploy`. Every other
command comes from the `agentplane.cli` entry-point group declared in
pyproject.toml: each entry point is a function `register(subparsers)` that adds
its parsers and sets `func` (sync or async, returning an exit code). The core
thus never imports a service.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from agentplane import __version__
from agentplane.cli import deploy, keys, mcp, serve, status, top, up
from agentplane.errors import AgentplaneError
from agentplane.settings import SettingsError

__all__ = ["build_parser", "main"]

ENTRY_POINT_GROUP = "agentplane.cli"


def build_parser() -> argparse.ArgumentParser:
    """The full parser: built-ins, then every registered plug-in."""
    parser = argparse.ArgumentParser(prog="agentplane", description="Run and use the agentplane platform.")
    parser.add_argument("--version", action="version", version=f"agentplane {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (up, serve, status, top, keys, mcp, deploy):
        module.register(sub)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            register = ep.load()
        except (ImportError, AttributeError) as exc:
            # A plug-in that cannot load must not take the other commands down with it.
            print(f"agentplane: commands of {ep.name!r} unavailable: {exc}", file=sys.stderr)
            continue
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        result = func(args)
        if inspect.isawaitable(result):
            result = asyncio.run(result)  # type: ignore[arg-type]
    except (SettingsError, AgentplaneError) as exc:
        print(f"agentplane: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())

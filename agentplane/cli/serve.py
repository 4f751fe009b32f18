"""`agentplane serve <process>`: run one process of the platform in the foreground (containers).

Layer: shared core, CLI. The process table of `agentplane up` (`PlatformSettings.processes`)
names each process's module; `serve` replaces itself with `python -m <module>`, so the
service is the container's main process and receives SIGTERM itself (it then drains as it
does under `agentplane up`). Services stay module names here, so the core imports none.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from agentplane.errors import InvalidArgumentError
from agentplane.platform import PlatformSettings
from agentplane.settings import load_settings

__all__ = ["register", "serve_argv"]


def register(sub: Any) -> None:
    """Add the `serve` command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run one process (controller, gateway, domain_inference, realtime, llm, triton) in the foreground",
        description="Run one process of the platform in the foreground until SIGTERM (the entry point of the "
        "container image). Its settings come from AGENTPLANE_CONFIG and AGENTPLANE_* variables.",
    )
    parser.add_argument("process", help="a process of `agentplane up`: controller, gateway, domain_inference, ...")
    parser.set_defaults(func=run_serve)


def serve_argv(settings: PlatformSettings, process: str, python: str = sys.executable) -> list[str]:
    """The command line that runs `process` (its module with `python -m`, then its args).

    Raises:
        InvalidArgumentError: No process of that name is configured.
    """
    name = process.replace("-", "_")
    spec = settings.processes.get(name)
    if spec is None:
        known = ", ".join(sorted(settings.processes))
        raise InvalidArgumentError(f"no process named {process!r}; known: {known}")
    return [python, "-m", spec.module, *spec.args]


def run_serve(args: argparse.Namespace) -> int:
    """Replace this process with the service's (never returns on success)."""
    settings = load_settings(PlatformSettings, "up")
    argv = serve_argv(settings, args.process)
    sys.stdout.flush()
    os.execv(argv[0], argv)
    return 0  # pragma: no cover - execv does not return

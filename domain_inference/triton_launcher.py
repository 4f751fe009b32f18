"""`python -m domain_inference.triton_launcher`: generate the model repository and run the bundled tritonserver.

Layer: process entry point (started by `agentplane up`). Steps: load settings and the built
artifacts; write the model repository (target "python"); prepare the Python backend
directory; start tritonserver on 127.0.0.1 (HTTP 18000, gRPC 18001, metrics 18002 by
default) with the environment its stubs need; forward SIGTERM/SIGINT to it; exit with its
exit code (0 after a clean stop). When tritonserver outlives `stop_timeout_s` after the
signal, it is killed and the launcher exits 1.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from agentplane.log import configure_logging
from agentplane.settings import SettingsError, load_settings
from domain_inference.artifacts import ArtifactsError, load_artifacts
from domain_inference.config import DomainInferenceSettings
from domain_inference.triton.process import find_install, prepare_backend_dir, server_command, server_env
from domain_inference.triton.repository import RepositoryOptions, write_repository

__all__ = ["build_parser", "launch", "main"]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def build_parser() -> argparse.ArgumentParser:
    """Command-line flags; each overrides the matching `triton` setting."""
    parser = argparse.ArgumentParser(prog="python -m domain_inference.triton_launcher", description=__doc__)
    parser.add_argument("--http-port", type=int, help="HTTP port (default 18000)")
    parser.add_argument("--grpc-port", type=int, help="gRPC port (default 18001)")
    parser.add_argument("--metrics-port", type=int, help="metrics port (default 18002)")
    parser.add_argument("--models-dir", type=Path, help="artifacts directory (default <data_dir>/models)")
    parser.add_argument("--repository", type=Path, help="repository to generate (default <data_dir>/triton/repository)")
    parser.add_argument("--no-dynamic-batching", action="store_true", help="one request per model execution")
    return parser


def _apply_flags(settings: DomainInferenceSettings, args: argparse.Namespace) -> DomainInferenceSettings:
    triton: dict[str, object] = {}
    for flag in ("http_port", "grpc_port", "metrics_port"):
        if getattr(args, flag) is not None:
            triton[flag] = getattr(args, flag)
    if args.repository is not None:
        triton["repository_dir"] = args.repository
    if args.no_dynamic_batching:
        triton["repository"] = settings.triton.repository.model_copy(update={"dynamic_batching": False})
    update: dict[str, object] = {"triton": settings.triton.model_copy(update=triton)}
    if args.models_dir is not None:
        update["models_dir"] = args.models_dir
    return settings.model_copy(update=update)


def launch(settings: DomainInferenceSettings) -> subprocess.Popen[bytes]:
    """Write the repository, prepare the backends, and start tritonserver (not waiting for ready).

    Raises:
        ArtifactsError: The artifacts are missing or invalid (the message says how to build them).
        FileNotFoundError: The bundled tritonserver is missing.
        RuntimeError: The interpreter cannot host the Python backend stub.
    """
    artifacts = load_artifacts(settings.resolved_models_dir)
    repository = settings.resolved_repository_dir
    write_repository(artifacts, repository, settings.triton.repository, RepositoryOptions())
    install = find_install()
    backend_dir = prepare_backend_dir(install, settings.resolved_backend_dir)
    argv = server_command(install, repository, backend_dir, settings.triton)
    log.info("starting %s", " ".join(argv))
    return subprocess.Popen(argv, env=server_env(install, os.environ), preexec_fn=_die_with_parent)  # noqa: PLW1509 - no threads yet


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the launcher dies (even by SIGKILL), so tritonserver is never orphaned."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _SignalForwarder:
    """Forwards SIGTERM/SIGINT to tritonserver, then kills it if it outlives the stop timeout."""

    def __init__(self, stop_timeout_s: float) -> None:
        self._stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._requested = False
        self._killer: threading.Timer | None = None

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        if self._requested:  # the signal came while the repository was being written
            self._forward()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._requested = True
        self._forward()

    def _forward(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        if self._killer is None:
            self._killer = threading.Timer(self._stop_timeout_s, process.kill)
            self._killer.daemon = True
            self._killer.start()

    def wait(self) -> int:
        assert self._process is not None
        code = self._process.wait()
        if self._killer is not None:
            self._killer.cancel()
        log.info("tritonserver exited with %s", code)
        return code if code >= 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run Triton until SIGTERM; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = _apply_flags(load_settings(DomainInferenceSettings, "domain_inference"), args)
    except SettingsError as exc:
        print(f"triton_launcher: {exc}", file=sys.stderr)
        return 2
    configure_logging("triton_launcher", settings.log.level, json_format=settings.log.json_format)
    forwarder = _SignalForwarder(settings.triton.stop_timeout_s)
    forwarder.install()
    try:
        forwarder.attach(launch(settings))
    except (ArtifactsError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        print(f"triton_launcher: {exc}", file=sys.stderr)
        return 2
    return forwarder.wait()


if __name__ == "__main__":
    raise SystemExit(main())

"""`agentplane models build` (and `python -m modelbuild`): build the reference domain models.

Layer: CLI of the offline build (registered through the `agentplane.cli` entry point). The
heavy imports (torch, transformers, scikit-learn) happen only inside the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agentplane.cli.groups import command_group

__all__ = ["add_build_arguments", "register", "run_build"]


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a build, shared by `agentplane models build` and `python -m modelbuild`."""
    parser.add_argument("--force", action="store_true", help="rebuild even when the artifacts are up to date")
    parser.add_argument("--out", type=Path, help="artifacts directory (default <data_dir>/models)")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute the exported encoder and the embeddings instead of reusing cached ones",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def register(sub: Any) -> None:
    """Add `models build`."""
    actions = command_group(sub, "models", "build, list or recalibrate the domain models")
    build = actions.add_parser("build", help="build the reference domain models into <data_dir>/models")
    add_build_arguments(build)
    build.set_defaults(func=run_build)


def _default_out() -> Path:
    from agentplane.settings import load_settings
    from domain_inference.config import DomainInferenceSettings

    return load_settings(DomainInferenceSettings, "domain_inference").resolved_models_dir


def run_build(args: argparse.Namespace) -> int:
    """Build the artifacts (a no-op when up to date unless --force); print the summary JSON."""
    out = args.out or _default_out()
    try:
        from modelbuild.builder import build_models
        from modelbuild.progress import BuildProgress
    except ImportError as exc:
        print(
            f"agentplane: the model builder needs the build extras (pip install -e '.[models]'): {exc}", file=sys.stderr
        )
        return 1
    try:
        result = build_models(
            out,
            force=args.force,
            use_cache=not args.no_cache,
            progress=BuildProgress(None if args.quiet else sys.stderr),
        )
    except (ImportError, RuntimeError, ValueError, OSError) as exc:
        print(f"agentplane: model build failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict(), indent=2))
    return 0

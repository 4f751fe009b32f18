"""Command line: `python -m domain_inference.modelbuild --out DIR [--force]`.

Layer: build tooling (entry point). Prints one JSON object: what was done and the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from domain_inference.modelbuild.builder import build_models

DEFAULT_OUT = Path(".agentplane") / "models"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build, print the JSON summary.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m domain_inference.modelbuild", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"artifacts directory (default {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    result = build_models(args.out, force=args.force)
    json.dump(result.to_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

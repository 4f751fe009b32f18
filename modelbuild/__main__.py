"""Command line: `python -m modelbuild [--out DIR] [--force] [--no-cache] [--quiet]`.

Layer: build tooling (entry point). Prints one JSON object: what was done and the figures.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from modelbuild.cli import add_build_arguments, run_build


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build, print the JSON summary.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m modelbuild", description=__doc__)
    add_build_arguments(parser)
    return run_build(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

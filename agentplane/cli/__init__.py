"""The `agentplane` command line: built-in commands plus commands registered by services.

Services add subcommands through the `agentplane.cli` entry-point group: each entry
names a `register(subparsers)` function (see `agentplane.cli.main`).
"""

from agentplane.cli.main import main

__all__ = ["main"]

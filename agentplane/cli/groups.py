"""Command groups that several plug-ins add actions to (e.g. `agentplane models build|list|recalibrate`).

Layer: shared core, CLI. argparse refuses a second `add_parser` with the same name, so a
plug-in asks for the group here: the first caller creates it, later callers get the same
action table and add their own actions to it.
"""

from __future__ import annotations

import argparse
from typing import Any
from weakref import WeakKeyDictionary

__all__ = ["command_group"]

_ACTIONS: WeakKeyDictionary[argparse.ArgumentParser, Any] = WeakKeyDictionary()


def command_group(sub: Any, name: str, help_text: str) -> Any:
    """The sub-command table of group `name`, created on first use.

    Args:
        sub: The top-level subparsers object handed to `register(sub)`.
        name: Group name, e.g. "models".
        help_text: The group's help line (used by the first caller).

    Returns:
        The group's subparsers object: call `add_parser(action, ...)` on it.
    """
    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help_text)
        _ACTIONS[parser] = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
    return _ACTIONS[parser]

"""`agentplane keys`: create and hash API keys for the key file."""

from __future__ import annotations

import argparse
from typing import Any

from agentplane.auth import generate_key, hash_key

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the `keys` command group."""
    parser: argparse.ArgumentParser = sub.add_parser("keys", help="create or hash API keys")
    keys_sub = parser.add_subparsers(dest="keys_command", required=True)
    new = keys_sub.add_parser("new", help="print a new key and its [[keys]] entry")
    new.add_argument("--name", required=True)
    new.add_argument("--tenant", required=True)
    new.add_argument("--role", action="append", default=[], help="reviewer, admin, service (repeatable)")
    new.set_defaults(func=_new)
    hashed = keys_sub.add_parser("hash", help="print the sha256 of a key")
    hashed.add_argument("key")
    hashed.set_defaults(func=lambda a: print(hash_key(a.key)) or 0)


def _new(args: argparse.Namespace) -> int:
    key = generate_key()
    roles = ", ".join(f'"{r}"' for r in args.role)
    print(f"# key (give to the client, store nowhere else): {key}")
    print(f'[[keys]]\nname = "{args.name}"\ntenant = "{args.tenant}"\nsha256 = "{hash_key(key)}"\nroles = [{roles}]')
    return 0

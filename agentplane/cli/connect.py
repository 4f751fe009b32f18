"""Connecting CLI commands to a running platform: endpoints and credentials.

Layer: shared core, CLI. Service commands (`submit`, `classify`, `fetch`, ...) call
`add_connection_args` on their parser and `open_channel` to get a channel that
authenticates as a key from the embedded default's credentials file (`--as`), an
explicit key (`--api-key`), or the AGENTPLANE_CLI__API_KEY environment setting.
"""

from __future__ import annotations

import argparse

from agentplane.platform import PlatformSettings, named_key
from agentplane.rpc import ServiceChannel
from agentplane.settings import load_settings

__all__ = ["add_connection_args", "open_channel"]


def add_connection_args(parser: argparse.ArgumentParser, *, default_key: str = "acme-user") -> None:
    """Add --as, --api-key and --address to a command."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--as", dest="key_name", default=default_key, help=f"key name from credentials.toml ({default_key})"
    )
    group.add_argument("--api-key", default=None, help="an API key (overrides --as)")
    group.add_argument("--address", default=None, help="host:port of the service (default: from settings)")
    group.add_argument("--timeout", type=float, default=60.0, help="call deadline in seconds")


def open_channel(args: argparse.Namespace, service: str) -> ServiceChannel:
    """A channel to `service` ("controller", "gateway", ...) as the chosen key.

    Raises:
        UnauthenticatedError: No key was given and none is in the credentials file.
    """
    settings = load_settings(PlatformSettings, "cli")
    key = args.api_key
    if key is None and settings.client.api_key is not None:
        key = settings.client.api_key.get_secret_value()
    if key is None:
        key = named_key(settings.data_dir, args.key_name, hint="pass --api-key")
    addresses = (args.address,) if args.address else getattr(settings.endpoints, service)
    return ServiceChannel(addresses, settings.client, api_key=key)

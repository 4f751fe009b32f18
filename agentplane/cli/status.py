"""`agentplane status`: the health of every service endpoint."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from agentplane.platform import PlatformSettings
from agentplane.settings import load_settings
from agentplane.supervisor import grpc_health_status

__all__ = ["collect_status", "register"]

SERVICES = {
    "controller": "agentplane.v1.TaskController",
    "gateway": "agentplane.v1.LLMGateway",
    "domain_inference": "agentplane.v1.DomainInference",
    "realtime": "agentplane.v1.RealtimeData",
}


def register(sub: Any) -> None:
    """Add the `status` command."""
    parser: argparse.ArgumentParser = sub.add_parser("status", help="print the health of each service")
    parser.set_defaults(func=run_status)


async def collect_status(settings: PlatformSettings) -> dict[str, list[tuple[str, str]]]:
    """Service -> [(address, status)] for every configured replica."""
    checks = {
        (name, addr): grpc_health_status(addr, svc, tls=settings.client.tls)
        for name, svc in SERVICES.items()
        for addr in getattr(settings.endpoints, name)
    }
    results = await asyncio.gather(*checks.values())
    out: dict[str, list[tuple[str, str]]] = {name: [] for name in SERVICES}
    for (name, addr), status in zip(checks, results, strict=True):
        out[name].append((addr, status))
    return out


async def run_status(args: argparse.Namespace) -> int:
    """Print one line per replica; exit 0 only when all are SERVING."""
    settings = load_settings(PlatformSettings, "up")
    table = await collect_status(settings)
    all_ok = True
    for name, rows in table.items():
        for addr, status in rows:
            all_ok &= status == "SERVING"
            print(f"{name:<17} {addr:<22} {status}")
    return 0 if all_ok else 1

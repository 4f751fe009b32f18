"""The three downstream services, really started in this process: realtime, gateway, domain inference.

Realtime may fetch only from the given local site; the gateway's models are deployments of
the fake LLM provider; domain inference answers on its in-process fallback (nothing listens
at its Triton address). Callers add their controller on top with the returned addresses.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from agentplane.rpc import ServiceHost
from domain_inference.config import DomainInferenceSettings
from domain_inference.server import build_server as build_domain_inference
from gateway.config import GatewaySettings
from gateway.server import build_server as build_gateway
from realtime.config import RealtimeSettings
from realtime.runtime import RuntimeHooks
from realtime.server import build_server as build_realtime
from tests.support.ports import free_ports
from tests.support.settings import test_settings


def _loopback_only(address: str, port: int) -> None:
    """Safety net under the SSRF guard: no test connection ever leaves 127.0.0.1."""
    if address != "127.0.0.1":
        raise OSError(f"test safety net: refusing to connect to {address}:{port}")


async def start_downstreams(
    stack: AsyncExitStack, data_dir: Path, *, site_port: int, llm_url: str, artifacts: Path, **common: Any
) -> dict[str, ServiceHost]:
    """Start realtime, gateway and domain inference (stopped by `stack`); return their hosts by name.

    Args:
        stack: Where their stops are pushed.
        data_dir: Each gets a directory under it.
        site_port: The local site realtime may fetch from.
        llm_url: Base URL (".../v1") of the fake LLM provider.
        artifacts: The built model artifacts.
        common: Settings overrides given to all three (e.g. tracing).
    """
    realtime = build_realtime(
        test_settings(
            RealtimeSettings,
            "realtime",
            data_dir / "realtime",
            ssrf={"allow": [f"127.0.0.1:{site_port}"]},
            politeness={"default": {"max_concurrent": 8, "min_delay_s": 0.0}},
            watch={"jitter": 0.0},
            **common,
        ),
        hooks=RuntimeHooks(connect_observer=_loopback_only),
    )
    dep = {"provider": "openai", "base_url": llm_url, "residency": "on_prem", "timeout_s": 10.0}
    gateway = build_gateway(
        test_settings(
            GatewaySettings,
            "gateway",
            data_dir / "gateway",
            models={
                "general": {"deployments": [{"name": "fake-general", "model": "fake-chat", **dep}]},
                "embed": {"deployments": [{"name": "fake-embed", "model": "fake-embed", **dep}], "embeddings": True},
            },
            http={"enabled": False},
            usage={"backend": "memory"},
            **common,
        )
    )
    domain = build_domain_inference(
        test_settings(
            DomainInferenceSettings,
            "domain_inference",
            data_dir / "domain_inference",
            models_dir=str(artifacts),
            triton_client={"address": f"127.0.0.1:{free_ports(1)[0]}"},  # nothing listens: in-process fallback
            **common,
        )
    )
    hosts: dict[str, ServiceHost] = {"realtime": realtime, "gateway": gateway, "domain_inference": domain}
    for host in hosts.values():
        await host.start()
        stack.push_async_callback(host.stop, 1.0)
    return hosts

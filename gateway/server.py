"""Builds and runs the gateway: gRPC LLMGateway and the OpenAI-compatible HTTP front (`python -m gateway.server`).

Layer: composition root. `build_core` wires settings into the core (catalogue,
providers, breakers, router, cache, usage ledger); `build_server` returns a
`GatewayServer`, a `GrpcServer` that also starts the core and the HTTP front on
the same event loop and shares its key store and tenant limiter with it.
Upstream keys are read from the environment here, once (`api_key_env`).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Mapping

from agentplane.log import configure_logging
from agentplane.resilience import BreakerRegistry
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.settings import load_settings
from agentplane.v1 import gateway_pb2_grpc
from gateway.adapters.anthropic_provider import AnthropicProvider
from gateway.adapters.openai_provider import OpenAIProvider
from gateway.adapters.redis_cache import RedisCache
from gateway.adapters.usage_redis import RedisUsageStore
from gateway.adapters.usage_sqlite import SqliteUsageStore
from gateway.cache import MemoryCache, ResponseCache
from gateway.catalogue import Catalogue
from gateway.config import GatewaySettings
from gateway.core import GatewayCore
from gateway.http_front import HttpFront
from gateway.routing import Router
from gateway.service import LLMGatewayServicer
from gateway.upstream import ChatProvider
from gateway.usage import UsageLedger, UsageStore

__all__ = ["SERVICE_NAME", "GatewayServer", "build_core", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.LLMGateway"


def _cache(settings: GatewaySettings) -> ResponseCache | None:
    if not settings.cache.enabled:
        return None
    if settings.cache.backend == "redis":
        return RedisCache(settings.cache)
    return MemoryCache(settings.cache.max_entries, settings.cache.max_entry_bytes)


def _usage_store(settings: GatewaySettings) -> UsageStore | None:
    usage = settings.usage
    if usage.backend == "sqlite":
        return SqliteUsageStore(usage.sqlite_path or settings.data_dir / "gateway" / "usage.sqlite3")
    if usage.backend == "redis":
        return RedisUsageStore(usage.redis_url, usage.key_prefix)
    return None


def build_core(
    settings: GatewaySettings, env: Mapping[str, str] | None = None, *, clock: Callable[[], float] | None = None
) -> GatewayCore:
    """The gateway core, not yet started.

    Args:
        settings: Gateway settings.
        env: Where `api_key_env` variables are read; default: the process environment.
        clock: Monotonic clock of the circuit breakers (tests step it); default time.monotonic.
    """
    catalogue = Catalogue.from_settings(settings, os.environ if env is None else env)
    openai = OpenAIProvider(settings.providers)
    providers: dict[str, ChatProvider] = {
        "openai": openai,
        "azure_openai": openai,
        "anthropic": AnthropicProvider(settings.providers),
    }
    breakers = BreakerRegistry(settings.breaker.breaker_settings(), clock or time.monotonic)
    router = Router(providers, breakers, settings.retry)
    ledger = UsageLedger(_usage_store(settings), settings.usage.flush_interval_s)
    return GatewayCore(settings, catalogue, router, providers, _cache(settings), ledger)


class GatewayServer(GrpcServer):
    """The gRPC server plus the core's lifecycle and the HTTP front.

    Args:
        settings: Gateway settings.
        core: The core both fronts serve.
    """

    def __init__(self, settings: GatewaySettings, core: GatewayCore) -> None:
        servicer = LLMGatewayServicer(core, settings.requests.default_deadline_s)
        binding = ServiceBinding(SERVICE_NAME, lambda s: gateway_pb2_grpc.add_LLMGatewayServicer_to_server(servicer, s))
        super().__init__(settings, [binding])
        self.core = core
        self.http: HttpFront | None = (
            HttpFront(settings.http, core, self.keys, self.limiter) if settings.http.enabled else None
        )

    @property
    def http_address(self) -> str:
        """host:port of the HTTP front (after start)."""
        if self.http is None:
            raise RuntimeError("the HTTP front is disabled (http.enabled = false)")
        return f"{self.http.host}:{self.http.port}"

    async def start(self) -> int:
        """Start the core, the gRPC server and the HTTP front; return the gRPC port."""
        await self.core.start()
        try:
            port = await super().start()
            if self.http is not None:
                await self.http.start()
        except BaseException:
            await self._close_all()
            raise
        return port

    async def stop(self, grace_s: float | None = None) -> None:
        """Drain gRPC, stop the HTTP front, then close the core (idempotent)."""
        await super().stop(grace_s)
        await self._close_all()

    async def _close_all(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        await self.core.aclose()


def build_server(settings: GatewaySettings) -> GrpcServer:
    """The gateway server (gRPC + HTTP front), not yet started."""
    return GatewayServer(settings, build_core(settings))


def _tune_gc(gen0_threshold: int) -> None:
    # Everything built so far lives as long as the process: keep the collector from
    # re-scanning it, and collect young objects less often (a request allocates hundreds).
    gc.collect()
    gc.freeze()
    if gen0_threshold:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)


async def _serve(settings: GatewaySettings) -> None:
    server = build_server(settings)
    _tune_gc(settings.gc_gen0_threshold)
    await run_until_signal(server)


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(GatewaySettings, "gateway")
    configure_logging("gateway", settings.log.level, json_format=settings.log.json_format)
    if settings.use_uvloop:
        import uvloop

        uvloop.run(_serve(settings))
    else:
        asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()

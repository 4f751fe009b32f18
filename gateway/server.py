"""Builds and runs the gateway: gRPC LLMGateway and the OpenAI-compatible HTTP front (`python -m gateway.server`).

Layer: composition root. `build_core` wires settings into the core (catalogue,
providers, breakers, router, cache, usage ledger); `build_server` returns the
gateway's `ServiceHost`: the core, then the gRPC server, then the HTTP front on the
same event loop, sharing the gRPC server's caller admission (keys and tenant limits).
`host[CORE]` and `host[HTTP_FRONT]` are the core and the front.
Upstream keys are read from the environment here, once (`api_key_env`).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping

from agentplane.resilience import BreakerRegistry
from agentplane.rpc import CleanupContext, ResourceKey, ServiceBinding, ServiceHost, lifecycle, serve_main
from agentplane.tracing import Tracing
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
from gateway.metrics import GatewayMetrics
from gateway.routing import Router
from gateway.service import LLMGatewayServicer
from gateway.upstream import ChatProvider
from gateway.usage import UsageLedger, UsageStore

__all__ = ["CORE", "HTTP_FRONT", "SERVICE_NAME", "build_core", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.LLMGateway"
CORE = ResourceKey("core", GatewayCore)
HTTP_FRONT = ResourceKey("http_front", HttpFront)


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
    settings: GatewaySettings,
    env: Mapping[str, str] | None = None,
    *,
    clock: Callable[[], float] | None = None,
    metrics: GatewayMetrics | None = None,
    tracing: Tracing | None = None,
) -> GatewayCore:
    """The gateway core, not yet started.

    Args:
        settings: Gateway settings.
        env: Where `api_key_env` variables are read; default: the process environment.
        clock: Monotonic clock of the circuit breakers (tests step it); default time.monotonic.
        metrics: The gateway's metrics (None: not recorded).
        tracing: Spans of upstream HTTP requests (default: off).
    """
    catalogue = Catalogue.from_settings(settings, os.environ if env is None else env)
    trace_configs = (tracing or Tracing.off()).http_trace_configs()
    openai = OpenAIProvider(settings.providers, trace_configs)
    providers: dict[str, ChatProvider] = {
        "openai": openai,
        "azure_openai": openai,
        "anthropic": AnthropicProvider(settings.providers, trace_configs),
    }
    breakers = BreakerRegistry(settings.breaker.breaker_settings(), clock or time.monotonic)
    router = Router(providers, breakers, settings.retry, metrics=metrics)
    ledger = UsageLedger(
        _usage_store(settings), settings.usage.flush_interval_s, on_record=metrics.usage if metrics else None
    )
    core = GatewayCore(settings, catalogue, router, providers, _cache(settings), ledger, metrics)
    if metrics is not None:
        metrics.watch(breakers, core.budgets, settings.budgets.tenants)
    return core


def build_server(settings: GatewaySettings, core: GatewayCore | None = None) -> ServiceHost:
    """The gateway host (core, gRPC, HTTP front), not yet started.

    Args:
        settings: Gateway settings.
        core: The core both fronts serve; default: `build_core(settings)`.
    """
    host = ServiceHost(settings, "gateway")
    metrics = GatewayMetrics(host.metrics) if host.metrics is not None else None
    core = host[CORE] = core or build_core(settings, metrics=metrics, tracing=host.tracing)
    host.add("core", lifecycle(core))
    servicer = LLMGatewayServicer(core, settings.requests.default_deadline_s)
    grpc = host.serve(
        [ServiceBinding(SERVICE_NAME, lambda s: gateway_pb2_grpc.add_LLMGatewayServicer_to_server(servicer, s))]
    )
    if settings.http.enabled:
        http = host[HTTP_FRONT] = HttpFront(settings.http, core, grpc.admission, host.rpc, host.tracing)
        host.add("http", lifecycle(http))
    return host


def _tune_gc(gen0_threshold: int) -> CleanupContext:
    async def tuned() -> AsyncIterator[None]:
        # Everything built and started lives as long as the process: keep the collector from
        # re-scanning it, and collect young objects less often (a request allocates hundreds).
        gc.collect()
        gc.freeze()
        if gen0_threshold:
            _, gen1, gen2 = gc.get_threshold()
            gc.set_threshold(gen0_threshold, gen1, gen2)
        yield

    return tuned


def _build_process(settings: GatewaySettings) -> ServiceHost:
    host = build_server(settings)
    host.add("gc", _tune_gc(settings.gc_gen0_threshold))
    return host


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    serve_main(GatewaySettings, "gateway", _build_process)


if __name__ == "__main__":
    main()

"""The realtime service's long-lived parts, created in one place and closed in reverse order.

Layer: composition root. Wires settings into the SSRF policy, the aiohttp
transport, robots.txt, politeness, the response cache, the fetch pipeline, the
SQLite source store, the watch service and its scheduler. `start()` opens the
resources inside the running loop; `aclose()` stops the scheduler, closes the
store, then the HTTP session.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiohttp import TraceConfig
from aiohttp.abc import AbstractResolver

from realtime.adapters.http import AiohttpTransport
from realtime.adapters.resolver import ConnectObserver
from realtime.adapters.store import SqliteSourceStore
from realtime.cache import ResponseCache
from realtime.clock import Clock, SystemClock
from realtime.config import RealtimeSettings
from realtime.fetching import Fetcher
from realtime.injection import InjectionScanner
from realtime.metrics import RealtimeMetrics
from realtime.nesting import NestingLimit
from realtime.politeness import HostGates
from realtime.retrieval import Retriever
from realtime.robots import RobotsPolicy
from realtime.scheduler import RefreshScheduler
from realtime.ssrf import AddressPolicy
from realtime.volatility import VolatilityPolicy
from realtime.watching import WatchService

__all__ = ["RealtimeRuntime", "RuntimeHooks"]


@dataclass(frozen=True)
class RuntimeHooks:
    """Seams tests (and only tests) replace; production leaves them all unset."""

    clock: Clock | None = None
    base_resolver: AbstractResolver | None = None
    connect_observer: ConnectObserver | None = None
    rng: random.Random | None = None


class RealtimeRuntime:
    """Everything the servicer uses, with an explicit lifecycle.

    Args:
        settings: The service's settings.
        hooks: Test seams (clock, resolver under the SSRF guard, connect observer, RNG).
        metrics: The service's metrics (None: not counted).
        trace_configs: aiohttp trace configs of the fetch session (tracing).

    Raises:
        ValueError: An SSRF allow rule cannot be parsed.
    """

    def __init__(
        self,
        settings: RealtimeSettings,
        hooks: RuntimeHooks | None = None,
        metrics: RealtimeMetrics | None = None,
        trace_configs: Sequence[TraceConfig] = (),
    ) -> None:
        hooks = hooks or RuntimeHooks()
        self.settings = settings
        self.metrics = metrics
        self.clock: Clock = hooks.clock or SystemClock()
        ssrf = settings.ssrf
        self.policy = AddressPolicy(
            enabled=ssrf.enabled, allow=(*ssrf.allow, *ssrf.also_allow), blocked_hostnames=ssrf.blocked_hostnames
        )
        self.transport = AiohttpTransport(
            settings.fetch,
            self.policy,
            base_resolver=hooks.base_resolver,
            connect_observer=hooks.connect_observer,
            trace_configs=trace_configs,
        )
        self.gates = HostGates(settings.politeness, self.clock, metrics.politeness_wait if metrics else None)
        self.cache = ResponseCache(settings.cache)
        self.robots = RobotsPolicy(settings.robots, settings.fetch.robots_token, self.clock)
        self.fetcher = Fetcher(
            settings.fetch, self.transport, self.policy, self.robots, self.gates, self.cache, self.clock, metrics
        )
        self.scanner = InjectionScanner(settings.content.injection_threshold, settings.content.max_findings)
        self.retriever = Retriever(
            self.fetcher,
            VolatilityPolicy(settings.volatility),
            self.scanner,
            settings.extraction,
            self.clock,
            inline_parse_max_bytes=settings.content.inline_parse_max_bytes,
            nesting=NestingLimit(settings.content.max_nesting_depth, settings.content.nesting_check_min_tags),
        )
        self._parse_pool: ThreadPoolExecutor | None = None
        self.store = SqliteSourceStore(settings.data_dir / "realtime" / "sources.db")
        self.watch = WatchService(
            self.store, self.retriever, settings.watch, settings.extraction, self.clock, rng=hooks.rng
        )
        self.scheduler = RefreshScheduler(self.store, self.watch.refresh, settings.watch, self.clock)
        self.watch.on_change = self.scheduler.wake
        self._started = False

    async def refresh_metrics(self) -> None:
        """Refresh the watched-source gauges from the store (before each scrape)."""
        if self.metrics is None or not self._started:
            return
        watch = self.settings.watch
        grace_s = watch.refresh_timeout_s + watch.max_idle_wait_s
        await self.metrics.refresh_sources(lambda now: self.store.watch_stats(now, grace_s), self.clock.now())

    async def start(self) -> None:
        """Open the HTTP session and the store, then start the scheduler (when enabled)."""
        if self._started:
            return
        self._started = True
        if self.settings.content.parse_threads:
            self._parse_pool = ThreadPoolExecutor(
                self.settings.content.parse_threads, thread_name_prefix="realtime-parse"
            )
            self.retriever.executor = self._parse_pool
        await self.transport.start()
        await self.store.open()
        if self.settings.watch.enabled:
            await self.scheduler.start()

    async def aclose(self) -> None:
        """Stop the scheduler, close the store, the HTTP session and the parse threads. Idempotent."""
        await self.scheduler.aclose()
        await self.store.aclose()
        await self.transport.aclose()
        pool, self._parse_pool = self._parse_pool, None
        self.retriever.executor = None
        if pool is not None:
            pool.shutdown(wait=True)
        self._started = False

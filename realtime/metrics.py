"""The realtime service's own metrics: fetches by outcome, bytes, cache and 304 hits, politeness, watched sources.

Layer: domain-level instrumentation (prometheus_client through the shared registry).
No URL or host is ever a label (unbounded): a fetch's outcome is one of a fixed set,
derived from the error reason, and per-host waits are one histogram over all hosts.

    agentplane_realtime_fetches_total{outcome}
        ok | cache_hit | not_modified | ssrf_refused | robots_refused | too_large | timeout |
        throttled (429/503) | host_backing_off | upstream_error | connect_error | redirect_error | invalid | error
    agentplane_realtime_fetched_bytes_total                     bytes on the wire (network fetches only)
    agentplane_realtime_cache_hits_total{kind}                  fresh | revalidated (a 304 reused the body)
    agentplane_realtime_politeness_wait_seconds                 waiting for a host's slot, gap or back-off
    agentplane_realtime_watched_sources                         refreshed before each scrape
    agentplane_realtime_watched_sources_overdue                 due for a refresh for longer than the grace
    agentplane_realtime_watched_source_max_staleness_seconds    oldest last successful refresh (or watch start)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from agentplane.errors import AgentplaneError
from agentplane.metrics import MetricsRegistry

__all__ = ["FETCH_OUTCOMES", "RealtimeMetrics", "WatchStats", "fetch_outcome"]

_WAIT_BUCKETS_S = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

_BY_REASON = {
    "SSRF_BLOCKED": "ssrf_refused",
    "ROBOTS_DISALLOWED": "robots_refused",
    "PAGE_TOO_LARGE": "too_large",
    "DECOMPRESSED_TOO_LARGE": "too_large",
    "HTML_TOO_LARGE": "too_large",
    "FETCH_DEADLINE": "timeout",
    "CONNECT_TIMEOUT": "timeout",
    "UPSTREAM_THROTTLED": "throttled",
    "HOST_BACKING_OFF": "host_backing_off",
    "UPSTREAM_ERROR": "upstream_error",
    "CONNECT_FAILED": "connect_error",
    "CONNECTION_LOST": "connect_error",
    "DNS_FAILED": "connect_error",
    "TOO_MANY_REDIRECTS": "redirect_error",
    "REDIRECT_LOOP": "redirect_error",
    "BAD_REDIRECT": "redirect_error",
    "BAD_URL": "invalid",
    "INVALID_ARGUMENT": "invalid",
}

FETCH_OUTCOMES = ("ok", "cache_hit", "not_modified", *sorted(set(_BY_REASON.values())), "error")

WatchStats = Callable[[float], Awaitable[tuple[int, int, float]]]
"""Reads (watched sources, overdue ones, max staleness in seconds) at wall time `now` from the store."""


def fetch_outcome(err: AgentplaneError) -> str:
    """The outcome label of a failed fetch."""
    return _BY_REASON.get(err.reason, "error")


class RealtimeMetrics:
    """The realtime service's domain metrics on a service registry.

    Args:
        registry: The service's registry.
    """

    def __init__(self, registry: MetricsRegistry) -> None:
        fetches = registry.counter("realtime_fetches", "Page fetches by outcome.", ["outcome"])
        self._outcomes = {name: fetches.labels(name) for name in FETCH_OUTCOMES}
        self._bytes = registry.counter("realtime_fetched_bytes", "Bytes received on the wire (cache hits excluded).")
        hits = registry.counter("realtime_cache_hits", "Fetches served from the cache, by kind.", ["kind"])
        self._fresh, self._revalidated = hits.labels("fresh"), hits.labels("revalidated")
        self._wait = registry.histogram(
            "realtime_politeness_wait_seconds",
            "Time a request waited for its host's slot, minimum gap or back-off (all hosts).",
            buckets=_WAIT_BUCKETS_S,
        )
        self._sources = registry.gauge("realtime_watched_sources", "Sources watched (all tenants).")
        self._overdue = registry.gauge(
            "realtime_watched_sources_overdue", "Watched sources due for a refresh for longer than the grace."
        )
        self._staleness = registry.gauge(
            "realtime_watched_source_max_staleness_seconds",
            "Seconds since the least recently refreshed source's last successful refresh.",
        )

    def fetched(self, *, from_cache: bool, revalidated: bool, wire_bytes: int) -> None:
        """A fetch that produced a page."""
        if from_cache and not revalidated:
            self._outcomes["cache_hit"].inc()
            self._fresh.inc()
            return
        if revalidated:
            self._outcomes["not_modified"].inc()
            self._revalidated.inc()
        else:
            self._outcomes["ok"].inc()
            self._bytes.inc(wire_bytes)

    def failed(self, err: AgentplaneError) -> None:
        """A fetch that was refused or failed."""
        self._outcomes[fetch_outcome(err)].inc()

    def politeness_wait(self, seconds: float) -> None:
        """A request waited `seconds` before it could go to its host."""
        self._wait.observe(seconds)

    async def refresh_sources(self, stats: WatchStats, now: float) -> None:
        """Refresh the watched-source gauges (run before each scrape)."""
        count, overdue, staleness = await stats(now)
        self._sources.set(count)
        self._overdue.set(overdue)
        self._staleness.set(staleness)

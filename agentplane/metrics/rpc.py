"""RED metrics of every inbound call: gRPC methods and HTTP routes, in flight, refusals.

Layer: shared core (prometheus_client; no grpc, no HTTP). The gRPC interceptor and
the HTTP fronts resolve one `CallMetrics` per method or route when they first see it;
on the hot path a call then costs a few integer updates and one bisect (about 0.5 µs),
with no label lookup and no lock; a collector renders them when scraped.

Refusals are counted apart from errors, by reason: `admission_refusals_total` for
every call refused before or instead of being served (authentication, tenant limits,
load shedding such as a full task queue), and `tenant_limit_refusals_total`, by
tenant (capped), for those a tenant's own limits refused.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from agentplane.errors import AgentplaneError, Code
from agentplane.metrics.registry import LATENCY_BUCKETS_S, NAMESPACE, MetricsRegistry

__all__ = ["CallMetrics", "RpcMetrics", "is_tenant_limit"]


def is_tenant_limit(err: AgentplaneError) -> bool:
    """Whether `err` is a refusal by a tenant's own limits (rate, concurrency, budget)."""
    return err.code is Code.RESOURCE_EXHAUSTED and (
        "tenant" in err.metadata or err.metadata.get("subject", "").startswith("tenant:")
    )


class CallMetrics:
    """The RED record of one method or route: plain counters, no locks, no label lookups.

    Every call is recorded on the event loop that serves it, and scrapes are served on the
    same loop, so plain integers are enough; `prometheus_client`'s children take a lock per
    update, several times the cost of this on the serving path.

    Args:
        bounds: Histogram bucket upper bounds, ascending.
    """

    __slots__ = ("_bounds", "buckets", "codes", "in_flight", "sum_s")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS_S) -> None:
        self._bounds = bounds
        self.in_flight = 0
        self.codes: dict[str, int] = {}
        self.buckets = [0] * (len(bounds) + 1)
        """Observations per bucket (not cumulative); the last is above every bound."""
        self.sum_s = 0.0

    def start(self) -> float:
        """Count one call in flight; return its start time for `finish`."""
        self.in_flight += 1
        return time.perf_counter()

    def finish(self, started: float, code: str) -> None:
        """Count the call as ended with `code` (a gRPC code name or an HTTP status) after `start`."""
        elapsed = time.perf_counter() - started
        self.in_flight -= 1
        self.buckets[bisect_left(self._bounds, elapsed)] += 1
        self.sum_s += elapsed
        self.codes[code] = self.codes.get(code, 0) + 1


class _RedCollector(Collector):
    """Renders the `CallMetrics` of one front as a counter, a histogram and a gauge family."""

    def __init__(self, prefix: str, labels: tuple[str, ...], code_label: str, what: tuple[str, str]) -> None:
        self.calls: dict[tuple[str, ...], CallMetrics] = {}
        self._names = (
            f"{NAMESPACE}_{prefix}_{what[0]}",
            f"{NAMESPACE}_{prefix}_{what[1]}",
            f"{NAMESPACE}_{prefix}_in_flight",
        )
        self._labels = labels
        self._code_label = code_label
        self._docs = _RED_DOCS[prefix]

    def _families(self) -> tuple[CounterMetricFamily, HistogramMetricFamily, GaugeMetricFamily]:
        counted, timed, flying = self._names  # (counter, histogram, gauge) names
        return (
            CounterMetricFamily(counted, self._docs[0], labels=[*self._labels, self._code_label]),
            HistogramMetricFamily(timed, self._docs[1], labels=list(self._labels)),
            GaugeMetricFamily(flying, self._docs[2], labels=list(self._labels)),
        )

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        counter, histogram, gauge = self._families()
        bounds = [*(repr(b) for b in LATENCY_BUCKETS_S), "+Inf"]  # as prometheus_client writes `le`
        for labels, call in self.calls.items():
            for code, count in call.codes.items():
                counter.add_metric([*labels, code], count)
            cumulative = list(accumulate(call.buckets))
            histogram.add_metric(list(labels), list(zip(bounds, cumulative, strict=True)), call.sum_s)
            gauge.add_metric(list(labels), call.in_flight)
        yield from (counter, histogram, gauge)


_RED_DOCS = {
    "grpc_server": (
        "gRPC calls finished, by service, method and status code.",
        "Time from a gRPC call's arrival to its last response message, by method.",
        "gRPC calls being served now, by method.",
    ),
    "http_server": (
        "HTTP requests finished, by route and status code.",
        "Time from an HTTP request's arrival to its response (a stream's end), by route.",
        "HTTP requests being served now, by route.",
    ),
}


class RpcMetrics:
    """Inbound-call metrics of one service (both fronts, when it has an HTTP one).

    Args:
        registry: The service's registry.
    """

    def __init__(self, registry: MetricsRegistry) -> None:
        self._tenant = registry.tenant
        self._grpc = _RedCollector(
            "grpc_server", ("grpc_service", "grpc_method"), "grpc_code", ("handled", "handling_seconds")
        )
        self._http = _RedCollector("http_server", ("route",), "status", ("requests", "request_duration_seconds"))
        registry.add_collector(self._grpc)
        registry.add_collector(self._http)
        self._refusals = registry.counter(
            "admission_refusals",
            "Calls refused before or instead of being served (authentication, tenant limits, load shedding), "
            "by front and reason.",
            ["front", "reason"],
        )
        self._tenant_refusals = registry.counter(
            "tenant_limit_refusals",
            "Calls refused by a tenant's own limits (rate, concurrency, budget), by tenant and reason.",
            ["tenant", "reason"],
        )

    def grpc_method(self, full_method: str) -> CallMetrics:
        """The metrics of a gRPC method ("/agentplane.v1.LLMGateway/Complete")."""
        service, _, method = full_method.lstrip("/").rpartition("/")
        return self._grpc.calls.setdefault((service, method), CallMetrics())

    def http_route(self, route: str) -> CallMetrics:
        """The metrics of an HTTP route ("POST /v1/chat/completions"; one value for unknown paths)."""
        return self._http.calls.setdefault((route,), CallMetrics())

    def refused(self, front: str, err: AgentplaneError) -> None:
        """Count a refusal ("grpc", "http" or "mcp" front); tenant-limit refusals also by tenant."""
        self._refusals.labels(front, err.reason).inc()
        if is_tenant_limit(err):
            tenant = err.metadata.get("tenant") or err.metadata.get("subject", "")[len("tenant:") :]
            self._tenant_refusals.labels(self._tenant(tenant), err.reason).inc()

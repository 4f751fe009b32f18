"""RED metrics of every inbound call: gRPC methods and HTTP routes, in flight, refusals.

Layer: shared core (prometheus_client; no grpc, no HTTP). The gRPC interceptor and
the HTTP fronts resolve one `CallMetrics` per method or route when they first see it;
on the hot path a call then costs an in-flight increment and decrement, one
histogram observation and one counter increment, with no label lookups.

Refusals are counted apart from errors, by reason: `admission_refusals_total` for
every call refused before or instead of being served (authentication, tenant limits,
load shedding such as a full task queue), and `tenant_limit_refusals_total`, by
tenant (capped), for those a tenant's own limits refused.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

from agentplane.errors import AgentplaneError, Code
from agentplane.metrics.registry import MetricsRegistry

__all__ = ["CallMetrics", "RpcMetrics", "is_tenant_limit"]


def is_tenant_limit(err: AgentplaneError) -> bool:
    """Whether `err` is a refusal by a tenant's own limits (rate, concurrency, budget)."""
    return err.code is Code.RESOURCE_EXHAUSTED and (
        "tenant" in err.metadata or err.metadata.get("subject", "").startswith("tenant:")
    )


class CallMetrics:
    """The RED metrics of one method or route, with its label children resolved once.

    Args:
        requests: Counter labelled (*labels, code).
        duration: Histogram labelled (*labels).
        in_flight: Gauge labelled (*labels).
        labels: This method's or route's label values.
    """

    __slots__ = ("_by_code", "_duration", "_in_flight", "_labels", "_requests")

    def __init__(self, requests: Counter, duration: Histogram, in_flight: Gauge, labels: tuple[str, ...]) -> None:
        self._requests = requests
        self._labels = labels
        self._by_code: dict[str, Counter] = {}
        self._duration = duration.labels(*labels)
        self._in_flight = in_flight.labels(*labels)

    def start(self) -> float:
        """Count one call in flight; return its start time for `finish`."""
        self._in_flight.inc()
        return time.perf_counter()

    def finish(self, started: float, code: str) -> None:
        """Count the call as ended with `code` (a gRPC code name or an HTTP status) after `start`."""
        self._in_flight.dec()
        self._duration.observe(time.perf_counter() - started)
        child = self._by_code.get(code)
        if child is None:
            child = self._by_code[code] = self._requests.labels(*self._labels, code)
        child.inc()


class RpcMetrics:
    """Inbound-call metrics of one service (both fronts, when it has an HTTP one).

    Args:
        registry: The service's registry.
    """

    def __init__(self, registry: MetricsRegistry) -> None:
        self._tenant = registry.tenant
        self._grpc = (
            registry.counter(
                "grpc_server_handled",
                "gRPC calls finished, by service, method and status code.",
                ["grpc_service", "grpc_method", "grpc_code"],
            ),
            registry.histogram(
                "grpc_server_handling_seconds",
                "Time from a gRPC call's arrival to its last response message, by method.",
                ["grpc_service", "grpc_method"],
            ),
            registry.gauge(
                "grpc_server_in_flight", "gRPC calls being served now, by method.", ["grpc_service", "grpc_method"]
            ),
        )
        self._http = (
            registry.counter(
                "http_server_requests", "HTTP requests finished, by route and status code.", ["route", "status"]
            ),
            registry.histogram(
                "http_server_request_duration_seconds",
                "Time from an HTTP request's arrival to its response (a stream's end), by route.",
                ["route"],
            ),
            registry.gauge("http_server_in_flight", "HTTP requests being served now, by route.", ["route"]),
        )
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
        self._methods: dict[str, CallMetrics] = {}
        self._routes: dict[str, CallMetrics] = {}

    def grpc_method(self, full_method: str) -> CallMetrics:
        """The metrics of a gRPC method ("/agentplane.v1.LLMGateway/Complete")."""
        found = self._methods.get(full_method)
        if found is None:
            service, _, method = full_method.lstrip("/").rpartition("/")
            found = self._methods[full_method] = CallMetrics(*self._grpc, (service, method))
        return found

    def http_route(self, route: str) -> CallMetrics:
        """The metrics of an HTTP route ("POST /v1/chat/completions"; one value for unknown paths)."""
        found = self._routes.get(route)
        if found is None:
            found = self._routes[route] = CallMetrics(*self._http, (route,))
        return found

    def refused(self, front: str, err: AgentplaneError) -> None:
        """Count a refusal ("grpc", "http" or "mcp" front); tenant-limit refusals also by tenant."""
        self._refusals.labels(front, err.reason).inc()
        if is_tenant_limit(err):
            tenant = err.metadata.get("tenant") or err.metadata.get("subject", "")[len("tenant:") :]
            self._tenant_refusals.labels(self._tenant(tenant), err.reason).inc()

"""The gateway's own metrics: upstream calls, tokens and cost, budgets, cache, retries, first tokens.

Layer: domain-level instrumentation (prometheus_client through the shared registry).
The core, the router and the usage ledger each call one method here at the point the
fact becomes known; nothing is computed for metrics alone. Labels are bounded:
deployments and models (aliases) come from configuration, tenants pass the registry's
cap, outcomes are `FailureKind` values.

    agentplane_gateway_upstream_calls_total{deployment, outcome}
    agentplane_gateway_upstream_call_seconds{deployment}
    agentplane_gateway_tokens_total{tenant, model, direction}      direction: input | output
    agentplane_gateway_cost_usd_total{tenant, model}
    agentplane_gateway_budget_remaining_usd{tenant, window}         scraped; only tenants with a budget
    agentplane_gateway_budget_remaining_ratio{tenant, window}
    agentplane_gateway_cache_lookups_total{result}                  hit | miss
    agentplane_gateway_single_flight_joins_total
    agentplane_gateway_retries_total{model}
    agentplane_gateway_fallbacks_total{model}
    agentplane_gateway_time_to_first_token_seconds{model}
    agentplane_breaker_state{breaker, state}                        one breaker per deployment
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from agentplane.metrics import Children, MetricsRegistry, watch_breakers
from agentplane.resilience import BreakerRegistry
from gateway.budget import BudgetPolicy
from gateway.models import Usage

__all__ = ["GatewayMetrics"]

_TTFT_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class GatewayMetrics:
    """The gateway's domain metrics on a service registry.

    Args:
        registry: The service's registry.
    """

    def __init__(self, registry: MetricsRegistry) -> None:
        self._registry = registry
        self._tenant = registry.tenant
        self._calls = Children(
            registry.counter(
                "gateway_upstream_calls",
                "Upstream attempts by deployment and outcome (ok, or the failure kind).",
                ["deployment", "outcome"],
            )
        )
        self._call_seconds = Children(
            registry.histogram(
                "gateway_upstream_call_seconds", "Upstream attempt latency by deployment.", ["deployment"]
            )
        )
        self._tokens = Children(
            registry.counter(
                "gateway_tokens", "Tokens by tenant, model (alias) and direction.", ["tenant", "model", "direction"]
            )
        )
        self._cost = Children(
            registry.counter("gateway_cost_usd", "Spend in USD by tenant and model.", ["tenant", "model"])
        )
        self._cache = registry.counter("gateway_cache_lookups", "Response cache lookups by result.", ["result"])
        self._hit = self._cache.labels("hit")
        self._miss = self._cache.labels("miss")
        self._joins = registry.counter(
            "gateway_single_flight_joins", "Requests answered by joining an identical request in flight."
        )
        self._retries = Children(
            registry.counter(
                "gateway_retries", "Retry rounds (after every deployment of an alias failed), by model.", ["model"]
            )
        )
        self._fallbacks = Children(
            registry.counter(
                "gateway_fallbacks", "Requests that moved on to a fallback alias, by the model asked for.", ["model"]
            )
        )
        self._ttft = Children(
            registry.histogram(
                "gateway_time_to_first_token_seconds",
                "Time from a streamed request's arrival to its first token, by model.",
                ["model"],
                buckets=_TTFT_BUCKETS_S,
            )
        )

    def watch(self, breakers: BreakerRegistry, budgets: BudgetPolicy, budget_tenants: Iterable[str]) -> None:
        """Export the deployments' breakers and the tenants' remaining budgets at every scrape.

        Args:
            breakers: The router's breakers (one per deployment).
            budgets: The budget policy.
            budget_tenants: Tenants configured with budgets; tenants seen in traffic are added (capped).
        """
        watch_breakers(self._registry, breakers.states)
        configured = tuple(budget_tenants)

        def remaining(ratio: bool) -> Callable[[], Iterator[tuple[tuple[str, str], float]]]:
            def rows() -> Iterator[tuple[tuple[str, str], float]]:
                for tenant in sorted({*configured, *self._tenant.known()}):
                    report = budgets.report(tenant)
                    for window in (report.daily, report.monthly):
                        if window.budget_usd:
                            name = "daily" if window is report.daily else "monthly"
                            value = window.remaining_usd / window.budget_usd if ratio else window.remaining_usd
                            yield (self._tenant(tenant), name), value

            return rows

        self._registry.scraped_gauge(
            "gateway_budget_remaining_usd",
            "Budget left in the current window, for tenants with a USD budget.",
            ["tenant", "window"],
            remaining(False),
        )
        self._registry.scraped_gauge(
            "gateway_budget_remaining_ratio",
            "Share of the window's USD budget left (alert below 0.1).",
            ["tenant", "window"],
            remaining(True),
        )

    def upstream_call(self, deployment: str, outcome: str, seconds: float) -> None:
        """One upstream attempt ended ("ok" or a failure kind)."""
        self._calls(deployment, outcome).inc()
        self._call_seconds(deployment).observe(seconds)

    def usage(self, tenant: str, model: str, usage: Usage) -> None:
        """A request's tokens and cost (cache hits record zero usage)."""
        if not (usage.input_tokens or usage.output_tokens or usage.cost_usd):
            return
        label = self._tenant(tenant)
        self._tokens(label, model, "input").inc(usage.input_tokens)
        self._tokens(label, model, "output").inc(usage.output_tokens)
        if usage.cost_usd:
            self._cost(label, model).inc(usage.cost_usd)

    def cache_lookup(self, hit: bool) -> None:
        """One response cache lookup."""
        (self._hit if hit else self._miss).inc()

    def single_flight_join(self) -> None:
        """A request answered by an identical one in flight."""
        self._joins.inc()

    def retry(self, model: str) -> None:
        """A retry round of an alias."""
        self._retries(model).inc()

    def fallback(self, model: str) -> None:
        """A request moved on to a fallback alias."""
        self._fallbacks(model).inc()

    def first_token(self, model: str, seconds: float) -> None:
        """A stream's first token, `seconds` after the request arrived."""
        self._ttft(model).observe(seconds)

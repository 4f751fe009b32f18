"""Circuit-breaker states as a scraped gauge, one-hot by state.

Layer: shared core. `agentplane_breaker_state{breaker, state}` is 1 for the state each
breaker is in and 0 for the other two, read from the breakers when scraped; alert on
`agentplane_breaker_state{state="open"} == 1`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from agentplane.metrics.registry import MetricsRegistry
from agentplane.resilience import BreakerState

__all__ = ["watch_breakers"]


def watch_breakers(registry: MetricsRegistry, states: Callable[[], Mapping[str, BreakerState]]) -> None:
    """Export the states `states()` returns (breaker name -> state) on every scrape.

    Args:
        registry: The service's registry.
        states: e.g. `BreakerRegistry.states`; names are downstreams or deployments (bounded by config).
    """

    def rows() -> Iterator[tuple[tuple[str, str], float]]:
        for name, state in sorted(states().items()):
            for candidate in BreakerState:
                yield (name, candidate.value), 1.0 if candidate is state else 0.0

    registry.scraped_gauge(
        "breaker_state", "Circuit breakers by state (1 = the state it is in).", ["breaker", "state"], rows
    )

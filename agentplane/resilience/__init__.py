"""Resilience primitives: retry with budget, circuit breaker, bulkhead."""

from agentplane.resilience.breaker import BreakerRegistry, BreakerSettings, BreakerState, CircuitBreaker
from agentplane.resilience.bulkhead import Bulkhead
from agentplane.resilience.retry import RetryBudget, RetryPolicy, retry_call

__all__ = [
    "BreakerRegistry",
    "BreakerSettings",
    "BreakerState",
    "Bulkhead",
    "CircuitBreaker",
    "RetryBudget",
    "RetryPolicy",
    "retry_call",
]

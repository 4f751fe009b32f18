"""Per-tenant rate and concurrency limits that shed load instead of queueing.

Layer: shared core, domain level (no grpc). A refused call raises
`ResourceExhaustedError` at once with a retry hint; nothing here ever waits, so an
overloaded service answers quickly instead of hanging.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agentplane.errors import ResourceExhaustedError
from agentplane.settings import LimitSettings, TenantLimitSettings

__all__ = ["TenantLimiter", "TenantPermit", "TokenBucket"]


class TokenBucket:
    """A token bucket: `rate_per_s` refill, `burst` capacity.

    Args:
        rate_per_s: Tokens added per second.
        burst: Capacity; the bucket starts full.
        clock: Monotonic clock in seconds (injectable for tests).
    """

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def try_take(self, n: float = 1.0) -> float:
        """Take `n` tokens if available; return 0.0, else the seconds until they will be."""
        now = self._clock()
        tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now
        if tokens >= n:
            self._tokens = tokens - n
            return 0.0
        self._tokens = tokens
        return (n - tokens) / self.rate_per_s


@dataclass
class _TenantState:
    bucket: TokenBucket
    max_concurrent: int
    in_flight: int = 0


class TenantPermit:
    """A granted slot; `release()` exactly once when the call ends (idempotent)."""

    __slots__ = ("_state",)

    def __init__(self, state: _TenantState) -> None:
        self._state: _TenantState | None = state

    def release(self) -> None:
        """Give the concurrency slot back."""
        if self._state is not None:
            self._state.in_flight -= 1
            self._state = None


class TenantLimiter:
    """Admits or refuses calls per tenant by rate and by concurrency.

    Args:
        settings: Default and per-tenant limits.
        clock: Monotonic clock (injectable for tests).
    """

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._tenants: dict[str, _TenantState] = {}

    def _state(self, tenant: str) -> _TenantState:
        state = self._tenants.get(tenant)
        if state is None:
            limit: TenantLimitSettings = self._settings.tenants.get(tenant, self._settings.default)
            state = _TenantState(TokenBucket(limit.rate_per_s, limit.burst, self._clock), limit.max_concurrent)
            self._tenants[tenant] = state
        return state

    def acquire(self, tenant: str) -> TenantPermit:
        """Admit one call of `tenant` or refuse it at once.

        Raises:
            ResourceExhaustedError: Over the tenant's concurrency or rate limit; carries
                `retry_after_s`, reason CONCURRENCY_LIMITED or RATE_LIMITED.
        """
        state = self._state(tenant)
        if state.in_flight >= state.max_concurrent:
            raise ResourceExhaustedError(
                f"tenant {tenant!r} has {state.in_flight} calls in flight (limit {state.max_concurrent})",
                reason="CONCURRENCY_LIMITED",
                metadata={"tenant": tenant, "subject": f"tenant:{tenant}", "limit": str(state.max_concurrent)},
                retry_after_s=0.05,
            )
        wait = state.bucket.try_take()
        if wait > 0.0:
            raise ResourceExhaustedError(
                f"tenant {tenant!r} is over its rate limit of {state.bucket.rate_per_s:g} calls/s",
                reason="RATE_LIMITED",
                metadata={"tenant": tenant, "subject": f"tenant:{tenant}", "limit": f"{state.bucket.rate_per_s:g}/s"},
                retry_after_s=round(wait, 3),
            )
        state.in_flight += 1
        return TenantPermit(state)

    def in_flight(self, tenant: str) -> int:
        """Calls of `tenant` in flight now."""
        state = self._tenants.get(tenant)
        return state.in_flight if state else 0

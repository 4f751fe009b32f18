"""Circuit breaker per downstream: closed, open, half-open.

Layer: shared core, domain level. Once a downstream keeps failing, callers stop
paying for it (fail over at once) until a half-open probe succeeds after the
cool-down. The breaker never sleeps and never does I/O; callers ask `allow()`
before a call and report the outcome after it.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from agentplane.errors import UnavailableError

__all__ = ["BreakerRegistry", "BreakerSettings", "BreakerState", "CircuitBreaker"]


class BreakerState(enum.Enum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSettings:
    """When a breaker opens and how it recovers."""

    failure_threshold: int = 5
    """Consecutive failures that open the breaker."""
    cool_down_s: float = 10.0
    """Time open before probes are allowed."""
    half_open_max_calls: int = 1
    """Probes allowed at once while half-open."""
    success_threshold: int = 1
    """Successful probes that close it again."""


class CircuitBreaker:
    """One downstream's breaker.

    Args:
        name: Downstream name, used in errors and metrics.
        settings: Thresholds.
        clock: Monotonic clock (injectable).
    """

    def __init__(
        self, name: str, settings: BreakerSettings | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._successes = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> BreakerState:
        """Current state; an open breaker past its cool-down reads as half-open."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.settings.cool_down_s:
            self._state = BreakerState.HALF_OPEN
            self._probes = 0
            self._successes = 0
        return self._state

    def retry_after_s(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.settings.cool_down_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go ahead now; a True while half-open reserves a probe slot."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and self._probes < self.settings.half_open_max_calls:
            self._probes += 1
            return True
        return False

    def check(self) -> None:
        """Like `allow`, but raise instead of returning False.

        Raises:
            UnavailableError: The breaker is open (reason CIRCUIT_OPEN, with retry hint).
        """
        if not self.allow():
            raise UnavailableError(
                f"{self.name} is failing; circuit open, next probe in {self.retry_after_s():.1f}s",
                reason="CIRCUIT_OPEN",
                metadata={"downstream": self.name},
                retry_after_s=round(self.retry_after_s(), 3),
            )

    def record_success(self) -> None:
        """Report a successful call."""
        if self._state is BreakerState.HALF_OPEN:
            self._probes = max(0, self._probes - 1)
            self._successes += 1
            if self._successes >= self.settings.success_threshold:
                self._state = BreakerState.CLOSED
                self._failures = 0
        else:
            self._failures = 0

    def record_failure(self) -> None:
        """Report a failed call (errors that say nothing about health should not be reported)."""
        if self._state is BreakerState.HALF_OPEN:
            self._trip()
            return
        self._failures += 1
        if self._state is BreakerState.CLOSED and self._failures >= self.settings.failure_threshold:
            self._trip()

    def release_probe(self) -> None:
        """Give back a half-open probe slot whose call ended without a verdict (cancelled)."""
        if self._state is BreakerState.HALF_OPEN:
            self._probes = max(0, self._probes - 1)

    def _trip(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self._probes = 0


class BreakerRegistry:
    """Breakers by downstream name, created on first use with shared settings."""

    def __init__(self, settings: BreakerSettings | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings or BreakerSettings()
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, name: str) -> CircuitBreaker:
        """The breaker for `name`."""
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = CircuitBreaker(name, self._settings, self._clock)
        return breaker

    def states(self) -> dict[str, BreakerState]:
        """Every breaker's state, for status pages."""
        return {name: b.state for name, b in self._breakers.items()}

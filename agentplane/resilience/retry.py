"""Retry with exponential backoff, full jitter, a retry budget and the caller's deadline.

Layer: shared core, domain level. Used for every downstream call that may be
retried (gateway → providers, controller → services, realtime → web). Retries
never outlive the incoming call's deadline and never exceed the budget, so a
struggling dependency is not hit with a retry storm.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from agentplane import request_context
from agentplane.errors import AgentplaneError

__all__ = ["RetryBudget", "RetryPolicy", "retry_call"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart to retry."""

    max_attempts: int = 3
    """Attempts in all, the first included."""
    base_delay_s: float = 0.05
    """Upper bound of the first backoff."""
    max_delay_s: float = 2.0
    """Cap on any backoff (before Retry-After is honoured)."""
    multiplier: float = 2.0
    """Growth of the backoff bound per attempt."""
    max_retry_after_s: float = 30.0
    """A server's Retry-After longer than this is not waited for: the error is returned."""

    def backoff_s(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Full-jitter backoff before retry `retry_number` (1-based): uniform(0, bound)."""
        bound = min(self.max_delay_s, self.base_delay_s * self.multiplier ** (retry_number - 1))
        return (rng or random).uniform(0.0, bound)


class RetryBudget:
    """Caps retries to a share of requests (token bucket, as in Finagle and Envoy).

    Each request deposits `ratio` tokens; each retry withdraws one. A floor of
    `min_per_s` retries per second keeps low-traffic callers able to retry.

    Args:
        ratio: Retries allowed per request, e.g. 0.2 = at most 20% extra load.
        min_per_s: Retries per second always allowed.
        max_balance: Most retry credit that can pile up during quiet periods.
        clock: Monotonic clock.
    """

    def __init__(
        self,
        ratio: float = 0.2,
        min_per_s: float = 5.0,
        max_balance: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_per_s = min_per_s
        self._clock = clock
        self._balance = min_per_s
        self._cap = max_balance
        self._stamp = clock()

    def record_request(self) -> None:
        """Credit one first attempt."""
        self._refill()
        self._balance = min(self._cap, self._balance + self.ratio)

    def try_spend(self) -> bool:
        """Withdraw one retry; False when the budget is exhausted."""
        self._refill()
        if self._balance >= 1.0:
            self._balance -= 1.0
            return True
        return False

    def _refill(self) -> None:
        now = self._clock()
        self._balance = min(self._cap, self._balance + (now - self._stamp) * self.min_per_s)
        self._stamp = now


def _retry_after(exc: BaseException) -> float | None:
    return exc.retry_after_s if isinstance(exc, AgentplaneError) else None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, AgentplaneError) and exc.retryable


async def retry_call(
    attempt: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    *,
    budget: RetryBudget | None = None,
    retryable: Callable[[BaseException], bool] = _retryable,
    retry_after: Callable[[BaseException], float | None] = _retry_after,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run `attempt(n)` (n = 0, 1, ...) until it succeeds or retrying is pointless.

    Gives up, re-raising the last error, when: the error is not retryable, attempts
    are used up, the budget refuses, a Retry-After exceeds `policy.max_retry_after_s`,
    or the wait would pass the current call's deadline.

    Args:
        attempt: Coroutine factory taking the attempt number.
        policy: Attempts and backoff.
        budget: Shared budget; None = unlimited within the policy.
        retryable: Which errors are worth retrying.
        retry_after: Server-requested delay for an error, if any (honoured as a floor).
        sleep: Awaitable sleep (injectable).
        on_retry: Called with (retry number, error, delay) before each wait.
        rng: Randomness of the jitter (injectable); default the `random` module.

    Returns:
        The first successful result.
    """
    if budget is not None:
        budget.record_request()
    number = 0
    while True:
        try:
            return await attempt(number)
        except BaseException as exc:
            number += 1
            if not isinstance(exc, Exception) or not retryable(exc) or number >= policy.max_attempts:
                raise
            delay = policy.backoff_s(number, rng)
            asked = retry_after(exc)
            if asked is not None:
                if asked > policy.max_retry_after_s:
                    raise
                delay = max(delay, asked)
            left = request_context.remaining_s()
            if left is not None and delay >= left:
                raise
            if budget is not None and not budget.try_spend():
                raise
            if on_retry is not None:
                on_retry(number, exc, delay)
            await sleep(delay)

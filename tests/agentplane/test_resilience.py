"""Retry with budget and deadline, circuit breaker states, bulkhead."""

from __future__ import annotations

import asyncio

import pytest

from agentplane import request_context
from agentplane.errors import DeadlineExceededError, InvalidArgumentError, ResourceExhaustedError, UnavailableError
from agentplane.resilience import (
    BreakerSettings,
    BreakerState,
    Bulkhead,
    CircuitBreaker,
    RetryBudget,
    RetryPolicy,
    retry_call,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_failures_and_half_opens_after_cool_down():
    clock = Clock()
    breaker = CircuitBreaker("llm-a", BreakerSettings(failure_threshold=3, cool_down_s=10), clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    with pytest.raises(UnavailableError) as info:
        breaker.check()
    assert info.value.reason == "CIRCUIT_OPEN" and info.value.retry_after_s == 10
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # one probe
    assert not breaker.allow()  # and only one
    breaker.record_failure()  # probe failed: open again for a full cool-down
    assert breaker.state is BreakerState.OPEN
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_success_resets_the_consecutive_failure_count():
    breaker = CircuitBreaker("x", BreakerSettings(failure_threshold=2), Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


async def test_retry_backs_off_honours_retry_after_and_stops_on_permanent_errors():
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    outcomes = [UnavailableError("down"), ResourceExhaustedError("slow down", retry_after_s=1.25), "ok"]

    async def attempt(n: int) -> str:
        result = outcomes[n]
        if isinstance(result, Exception):
            raise result
        return result

    assert await retry_call(attempt, RetryPolicy(max_attempts=3, base_delay_s=0.1), sleep=sleep) == "ok"
    assert 0 <= waits[0] <= 0.1 and waits[1] == 1.25

    calls = 0

    async def bad(n: int) -> str:
        nonlocal calls
        calls += 1
        raise InvalidArgumentError("no")

    with pytest.raises(InvalidArgumentError):
        await retry_call(bad, RetryPolicy(max_attempts=5), sleep=sleep)
    assert calls == 1


async def test_retry_never_waits_past_the_call_deadline():
    async def sleep(s: float) -> None:
        raise AssertionError("must not wait")

    async def attempt(n: int) -> str:
        raise UnavailableError("down", retry_after_s=5)

    with request_context.deadline_scope(1.0), pytest.raises(UnavailableError):
        await retry_call(attempt, RetryPolicy(max_attempts=3), sleep=sleep)


def test_retry_budget_caps_retries_to_a_share_of_requests():
    clock = Clock()
    budget = RetryBudget(ratio=0.25, min_per_s=0.0, clock=clock)
    for _ in range(100):
        budget.record_request()
    spent = sum(budget.try_spend() for _ in range(50))
    assert spent == 25


def test_full_jitter_stays_within_the_exponential_bound():
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=1.0, multiplier=2)
    assert all(0 <= policy.backoff_s(3) <= 0.4 for _ in range(200))
    assert all(0 <= policy.backoff_s(10) <= 1.0 for _ in range(200))


async def test_bulkhead_queues_within_limits_and_refuses_beyond():
    bulkhead = Bulkhead("triton", max_concurrent=1, max_queued=1)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def hold() -> None:
        async with bulkhead.slot():
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await entered.wait()
    queued = asyncio.create_task(hold())
    while bulkhead._waiting < 1:  # noqa: ASYNC110 - yields until the task has queued; no event exists
        await asyncio.sleep(0)
    with pytest.raises(ResourceExhaustedError):
        async with bulkhead.slot():
            pass
    release.set()
    await asyncio.gather(holder, queued)
    assert bulkhead.in_use == 0


async def test_bulkhead_waiter_gives_up_at_the_deadline():
    bulkhead = Bulkhead("slow", max_concurrent=1, max_queued=5)
    async with bulkhead.slot():
        with request_context.deadline_scope(0.01), pytest.raises(DeadlineExceededError):
            async with bulkhead.slot():
                pass

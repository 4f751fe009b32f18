"""Per-host politeness: a concurrency limit, a minimum gap between requests, adaptive back-off.

Layer: domain (asyncio only). Every request to a host, retries and robots.txt
included, runs inside `HostGates.slot(host)`. A 429 or 503 blocks the host for
its Retry-After (every waiting request honours it, not only the one that got it)
and multiplies the host's gap; successes let the gap decay back to its base. A
robots.txt Crawl-delay raises the base gap of that host.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from agentplane import request_context
from agentplane.errors import UnavailableError
from realtime.clock import Clock
from realtime.config import HostPolicySettings, PolitenessSettings

__all__ = ["HostGates", "HostState"]


@dataclass
class HostState:
    """What is known about one host."""

    semaphore: asyncio.Semaphore
    base_delay_s: float
    delay_s: float
    next_start: float = 0.0
    blocked_until: float = 0.0
    in_flight: int = 0
    throttled: int = field(default=0)


class HostGates:
    """Admission of requests per host.

    Args:
        settings: The [realtime.politeness] block.
        clock: Time source for gaps and waits.
        on_wait: Told how long each request waited for its slot (metrics).
    """

    def __init__(
        self, settings: PolitenessSettings, clock: Clock, on_wait: Callable[[float], None] | None = None
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._on_wait = on_wait
        self._hosts: OrderedDict[str, HostState] = OrderedDict()

    def _policy(self, host: str) -> HostPolicySettings:
        return self._settings.hosts.get(host, self._settings.default)

    def state(self, host: str) -> HostState:
        """The host's state, created on first use (least recently used idle ones are dropped)."""
        state = self._hosts.get(host)
        if state is None:
            policy = self._policy(host)
            state = HostState(asyncio.Semaphore(policy.max_concurrent), policy.min_delay_s, policy.min_delay_s)
            self._hosts[host] = state
            self._evict()
        else:
            self._hosts.move_to_end(host)
        return state

    def _evict(self) -> None:
        if len(self._hosts) <= self._settings.max_hosts:
            return
        now = self._clock.monotonic()
        for name in list(self._hosts):
            if len(self._hosts) <= self._settings.max_hosts:
                break
            st = self._hosts[name]
            if st.in_flight == 0 and st.blocked_until <= now and st.next_start <= now:
                del self._hosts[name]

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's request slots, after its gap and any back-off have passed.

        Raises:
            UnavailableError: The host asked us to back off for longer than the
                current deadline leaves (reason HOST_BACKING_OFF, with the delay).
        """
        state = self.state(host)
        state.in_flight += 1
        arrived = self._clock.monotonic()
        try:
            async with state.semaphore:
                while True:
                    now = self._clock.monotonic()
                    start_at = max(state.next_start, state.blocked_until)
                    if start_at <= now:
                        break
                    left = request_context.remaining_s()
                    if state.blocked_until > now and left is not None and state.blocked_until - now > left:
                        wait = state.blocked_until - now
                        raise UnavailableError(
                            f"{host} asked for a pause of {wait:.0f} s (Retry-After); not waiting past the deadline",
                            reason="HOST_BACKING_OFF",
                            retry_after_s=wait,
                            metadata={"host": host},
                        )
                    await self._clock.sleep(start_at - now)
                state.next_start = now + state.delay_s
                if self._on_wait is not None:
                    self._on_wait(now - arrived)
                yield
        finally:
            state.in_flight -= 1

    def record_success(self, host: str) -> None:
        """A response that was not throttled: the gap decays towards its base."""
        state = self.state(host)
        if state.delay_s > state.base_delay_s:
            state.delay_s = max(state.base_delay_s, state.delay_s / self._settings.backoff_factor)

    def record_throttle(self, host: str, retry_after_s: float | None) -> float:
        """A 429 or 503: block the host and widen its gap.

        Returns:
            Seconds the host is now blocked for.
        """
        state = self.state(host)
        state.throttled += 1
        factor = self._settings.backoff_factor
        state.delay_s = min(self._settings.max_delay_s, max(state.delay_s * factor, state.base_delay_s, 0.5))
        wait = retry_after_s if retry_after_s is not None else state.delay_s
        wait = min(wait, self._settings.max_delay_s) if retry_after_s is None else wait
        state.blocked_until = max(state.blocked_until, self._clock.monotonic() + wait)
        return wait

    def set_crawl_delay(self, host: str, seconds: float) -> None:
        """Apply a robots.txt Crawl-delay (capped) as the host's base gap."""
        state = self.state(host)
        delay = min(max(seconds, 0.0), self._settings.max_crawl_delay_s)
        base = max(self._policy(host).min_delay_s, delay)
        state.base_delay_s = base
        state.delay_s = max(state.delay_s, base)

"""Time for the realtime service: wall-clock stamps, monotonic waits, injectable in tests.

Layer: domain. Everything in the service that waits (politeness gaps, Retry-After,
scheduler) or stamps (fetched_at, next refresh) goes through a `Clock`, so tests
drive time with a fake clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """What the service needs from time."""

    def now(self) -> float:
        """Wall-clock time, seconds since the epoch (persisted stamps)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (intervals and waits)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        ...

    async def wait(self, event: asyncio.Event, timeout_s: float) -> bool:
        """Wait until `event` is set or `timeout_s` passed; True when the event is set."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Wall-clock time, seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (nothing when not positive)."""
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def wait(self, event: asyncio.Event, timeout_s: float) -> bool:
        """Wait for `event` at most `timeout_s`."""
        if event.is_set():
            return True
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                await event.wait()
        except TimeoutError:
            return False
        return True

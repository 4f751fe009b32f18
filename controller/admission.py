"""Deadline-aware admission: refuse a task at once when it would wait past its caller's deadline.

Layer: controller domain (pure). A queue that accepts everything turns overload into
late answers; the controller instead estimates how long a new task would wait (tasks
ahead of it / recent completion rate) and refuses with RESOURCE_EXHAUSTED and a retry
hint when that exceeds what is left of the caller's deadline. Accepted tasks then
settle within their deadlines, and excess load gets fast, clear refusals.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["ThroughputMeter"]


class ThroughputMeter:
    """Completions per second over a sliding window.

    Args:
        window_s: Width of the window.
        clock: Monotonic clock (injectable).
    """

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._stamps: deque[float] = deque(maxlen=100_000)
        self._started = clock()

    def record(self) -> None:
        """Count one completion now."""
        self._stamps.append(self._clock())

    def rate(self) -> float | None:
        """Completions per second in the window; None before the first completion."""
        now = self._clock()
        cutoff = now - self._window_s
        while self._stamps and self._stamps[0] < cutoff:
            self._stamps.popleft()
        if not self._stamps:
            return None
        span = min(self._window_s, max(now - self._started, 1e-3))
        return len(self._stamps) / span

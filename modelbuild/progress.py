"""Progress of a long build, reported on stderr: stage starts and a throttled per-item count.

Layer: build tooling. The build takes minutes when nothing is cached (mostly embedding
about 11,000 texts on 2 cores), so it says what it is doing and how far it has come.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["BuildProgress"]


class BuildProgress:
    """Prints `[build 12.3s] stage` lines and `done/total (pct), ~N s left` counts.

    Args:
        stream: Where to write (stderr by default); None keeps quiet.
        every_s: Least time between two count lines of one stage.
    """

    def __init__(self, stream: TextIO | None = sys.stderr, every_s: float = 5.0) -> None:
        self._stream = stream
        self._every_s = every_s
        self._started = time.perf_counter()
        self._stage_started = self._started
        self._last_count = 0.0
        self.stages: list[str] = []

    def _write(self, message: str) -> None:
        if self._stream is not None:
            self._stream.write(f"[build {time.perf_counter() - self._started:6.1f}s] {message}\n")
            self._stream.flush()

    def stage(self, name: str) -> None:
        """A new stage starts."""
        self.stages.append(name)
        self._stage_started = self._last_count = time.perf_counter()
        self._write(name)

    def count(self, done: int, total: int, unit: str = "texts") -> None:
        """`done` of `total` items of the current stage are finished (throttled; always prints the last)."""
        now = time.perf_counter()
        if done < total and now - self._last_count < self._every_s:
            return
        self._last_count = now
        elapsed = now - self._stage_started
        left = elapsed / done * (total - done) if done else 0.0
        share = done / total if total else 1.0
        self._write(f"  {done:,}/{total:,} {unit} ({share:.0%}), ~{left:.0f}s left")

"""The background refresher of watched sources: explicit lifecycle, bounded, clock-driven.

Layer: domain (asyncio). `start()` launches one loop task; `aclose()` stops it
and cancels refreshes in flight. The loop refreshes every due source (at most
`max_concurrent_refreshes` at once), then sleeps on the clock until the next
one is due, the idle cap passes, or `wake()` is called (a source was added).
`run_due()` is the same step on demand: tests drive the scheduler with it and a
fake clock, without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from realtime.clock import Clock
from realtime.config import WatchSettings
from realtime.sources import Source, SourceStore

__all__ = ["RefreshScheduler"]

log = logging.getLogger(__name__)
_IN_FLIGHT_RECHECK_S = 1.0


class RefreshScheduler:
    """Refreshes due sources on schedule.

    Args:
        store: Where due sources are found.
        refresh: Refreshes one source (records its own failures).
        settings: The [realtime.watch] block.
        clock: Time source.
    """

    def __init__(
        self,
        store: SourceStore,
        refresh: Callable[[Source], Awaitable[object]],
        settings: WatchSettings,
        clock: Clock,
    ) -> None:
        self._store = store
        self._refresh = refresh
        self._settings = settings
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.max_concurrent_refreshes)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._progress = asyncio.Condition()
        self.completed = 0
        """Refreshes finished since start (successful or not)."""

    @property
    def running(self) -> bool:
        """Whether the loop task is alive."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Look at the store now (a source was added or removed)."""
        self._wake.set()

    async def start(self) -> None:
        """Start the loop task. Idempotent."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="realtime-refresh-scheduler")

    async def aclose(self) -> None:
        """Stop the loop and cancel refreshes in flight. Idempotent."""
        task, self._task = self._task, None
        pending = [t for t in (task, *self._in_flight.values()) if t is not None]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._in_flight.clear()

    async def run_due(self) -> int:
        """Refresh every source due now; return how many refreshes were started."""
        now = self._clock.now()
        due = await self._store.due_sources(now, self._settings.max_concurrent_refreshes * 4)
        started = []
        for source in due:
            key = (source.tenant, source.source_id)
            if key in self._in_flight:
                continue
            task = asyncio.create_task(self._one(source, key))
            self._in_flight[key] = task
            started.append(task)
        if started:
            await asyncio.gather(*started, return_exceptions=True)
        return len(started)

    async def wait_completed(self, count: int, timeout_s: float) -> bool:
        """Wait until at least `count` refreshes have finished since start; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s), self._progress:
                await self._progress.wait_for(lambda: self.completed >= count)
        except TimeoutError:
            return False
        return True

    async def _one(self, source: Source, key: tuple[str, str]) -> None:
        try:
            async with self._slots:
                await self._refresh(source)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("refresh of %s/%s crashed", source.tenant, source.source_id)
        finally:
            self._in_flight.pop(key, None)
            self.completed += 1
            async with self._progress:
                self._progress.notify_all()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                started = await self.run_due()
                next_at = await self._store.next_due_at()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("refresh scheduler step failed; retrying after the idle wait")
                started, next_at = 0, None
            wait = self._settings.max_idle_wait_s
            if next_at is not None:
                wait = min(wait, max(0.0, next_at - self._clock.now()))
                if wait == 0.0 and not started:
                    wait = _IN_FLIGHT_RECHECK_S  # what is due is already being refreshed
            if wait > 0:
                await self._clock.wait(self._wake, wait)

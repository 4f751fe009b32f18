"""Per-tenant token and cost accounting by UTC day and month.

Layer: domain. `UsageLedger.record` only updates counters in memory (nothing on
the request path waits for storage); a background task flushes the deltas to a
`UsageStore` every `flush_interval_s` and, for a store shared by several replicas
(Redis), reads back the totals so that every replica enforces budgets on the
spend of all of them. Budgets are therefore exact within one replica and behind
by at most one flush interval across replicas.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.models import Usage

__all__ = ["Counters", "Periods", "UsageKey", "UsageLedger", "UsageStore"]

log = logging.getLogger(__name__)

UsageKey = tuple[str, str, str, str]
"""(tenant, period, alias, deployment); alias and deployment are "" for tenant totals."""


@dataclass(slots=True)
class Counters:
    """Usage counters of one key."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0

    def add(self, other: Counters) -> None:
        """Add `other` into these counters."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.cache_hits += other.cache_hits

    def copy(self) -> Counters:
        """An independent copy."""
        return Counters(self.requests, self.input_tokens, self.output_tokens, self.cost_usd, self.cache_hits)

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class UsageStore(Protocol):
    """Durable (or shared) usage counters."""

    shared: bool
    """Other replicas write to it too: totals are read back after each flush."""

    async def load(self, periods: Sequence[str]) -> dict[UsageKey, Counters]:
        """Every stored key of the given periods."""
        ...

    async def add(self, deltas: dict[UsageKey, Counters]) -> None:
        """Add the deltas atomically per key."""
        ...

    async def aclose(self) -> None:
        """Release the connection or file."""
        ...


class Periods:
    """UTC day and month names of a wall-clock time, recomputed once per day.

    Args:
        clock: Wall clock in epoch seconds (injectable).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._valid_until = -1.0
        self._day = ""
        self._month = ""
        self._month_end = 0.0

    def current(self) -> tuple[str, str]:
        """(day, month), e.g. ("2026-11-25", "2026-11")."""
        now = self._clock()
        if now >= self._valid_until:
            tm = time.gmtime(now)
            self._day = f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
            self._month = self._day[:7]
            day_start = calendar.timegm((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0))
            self._valid_until = day_start + 86400
            days = calendar.monthrange(tm.tm_year, tm.tm_mon)[1]
            self._month_end = calendar.timegm((tm.tm_year, tm.tm_mon, 1, 0, 0, 0)) + days * 86400
        return self._day, self._month

    def seconds_to_day_end(self) -> float:
        """Seconds until the daily window resets."""
        self.current()
        return max(0.0, self._valid_until - self._clock())

    def seconds_to_month_end(self) -> float:
        """Seconds until the monthly window resets."""
        self.current()
        return max(0.0, self._month_end - self._clock())


class UsageLedger:
    """Counters per tenant, period and deployment, flushed in the background.

    Args:
        store: Durable or shared store; None keeps usage in memory only.
        flush_interval_s: How often deltas are written (and shared totals read).
        periods: Day/month naming (injectable clock).
        on_record: Also told of every recorded usage (metrics), as (tenant, alias, usage).
    """

    def __init__(
        self,
        store: UsageStore | None,
        flush_interval_s: float,
        periods: Periods | None = None,
        on_record: Callable[[str, str, Usage], None] | None = None,
    ) -> None:
        self._store = store
        self._on_record = on_record
        self._interval = flush_interval_s
        self.periods = periods or Periods()
        self._totals: dict[UsageKey, Counters] = {}
        self._pending: dict[UsageKey, Counters] = {}
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()

    async def start(self) -> None:
        """Load the current periods from the store and start the flush loop."""
        if self._store is None:
            return
        day, month = self.periods.current()
        self._totals = await self._store.load([day, month])
        self._task = asyncio.create_task(self._loop(), name="usage-flush")

    async def aclose(self) -> None:
        """Stop the loop, write what is pending, close the store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._store is not None:
            await self.flush()
            await self._store.aclose()

    def record(self, tenant: str, alias: str, deployment: str, usage: Usage, *, cache_hit: bool = False) -> None:
        """Count one served request (a cache hit costs nothing but is counted)."""
        if self._on_record is not None:
            self._on_record(tenant, alias, usage)
        day, month = self.periods.current()
        keys = [(tenant, day, "", ""), (tenant, month, "", "")]
        if deployment:
            keys.append((tenant, month, alias, deployment))
        inp, out, cost, hits = usage.input_tokens, usage.output_tokens, usage.cost_usd, 1 if cache_hit else 0
        for table in (self._totals, self._pending):
            for key in keys:
                c = table.get(key)
                if c is None:
                    c = table[key] = Counters()
                c.requests += 1
                c.input_tokens += inp
                c.output_tokens += out
                c.cost_usd += cost
                c.cache_hits += hits

    def window(self, tenant: str, *, daily: bool) -> tuple[str, Counters]:
        """(period, counters) of the tenant's current day or month."""
        day, month = self.periods.current()
        period = day if daily else month
        return period, self._totals.get((tenant, period, "", ""), Counters())

    def by_deployment(self, tenant: str) -> list[tuple[str, str, Counters]]:
        """(alias, deployment, counters) of the current month, sorted."""
        _, month = self.periods.current()
        rows = [
            (alias, dep, c)
            for (t, period, alias, dep), c in self._totals.items()
            if t == tenant and period == month and dep
        ]
        return sorted(rows, key=lambda r: (r[0], r[1]))

    async def flush(self) -> None:
        """Write pending deltas; for a shared store, adopt the stored totals."""
        if self._store is None:
            return
        async with self._flush_lock:
            pending, self._pending = self._pending, {}
            if pending:
                try:
                    await self._store.add(pending)
                except Exception:
                    log.exception("usage flush failed; %d keys kept for the next one", len(pending))
                    for key, delta in pending.items():
                        self._pending.setdefault(key, Counters()).add(delta)
                    return
            day, month = self.periods.current()
            if self._store.shared:
                fresh = await self._store.load([day, month])
                for key, delta in self._pending.items():  # recorded while we awaited
                    fresh.setdefault(key, Counters()).add(delta)
                self._totals = fresh
            else:
                self._totals = {k: v for k, v in self._totals.items() if k[1] in (day, month)}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:
                log.exception("usage refresh failed")

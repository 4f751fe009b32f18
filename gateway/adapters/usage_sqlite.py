"""Usage counters in a SQLite file, so that a restart does not reset budgets.

Layer: adapters (outbound I/O). Implements `gateway.usage.UsageStore` for one
replica: the ledger flushes deltas here every `flush_interval_s` (off the request
path, in a worker thread) and loads the current day and month at start.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from gateway.usage import Counters, UsageKey

__all__ = ["SqliteUsageStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    tenant TEXT NOT NULL,
    period TEXT NOT NULL,
    alias TEXT NOT NULL,
    deployment TEXT NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    cache_hits INTEGER NOT NULL,
    PRIMARY KEY (tenant, period, alias, deployment)
)
"""
_UPSERT = """
INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant, period, alias, deployment) DO UPDATE SET
    requests = requests + excluded.requests,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cost_usd = cost_usd + excluded.cost_usd,
    cache_hits = cache_hits + excluded.cache_hits
"""


class SqliteUsageStore:
    """Counters in one SQLite table keyed by (tenant, period, alias, deployment).

    Args:
        path: Database file (its folder is created).
    """

    shared = False

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = asyncio.Lock()

    def _load(self, periods: Sequence[str]) -> dict[UsageKey, Counters]:
        marks = ",".join("?" for _ in periods)
        rows = self._db.execute(f"SELECT * FROM usage WHERE period IN ({marks})", tuple(periods)).fetchall()
        return {(r[0], r[1], r[2], r[3]): Counters(r[4], r[5], r[6], r[7], r[8]) for r in rows}

    def _add(self, deltas: dict[UsageKey, Counters]) -> None:
        rows = [
            (*key, c.requests, c.input_tokens, c.output_tokens, c.cost_usd, c.cache_hits) for key, c in deltas.items()
        ]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT, rows)

    async def load(self, periods: Sequence[str]) -> dict[UsageKey, Counters]:
        """Every stored key of the given periods."""
        async with self._lock:
            return await asyncio.to_thread(self._load, periods)

    async def add(self, deltas: dict[UsageKey, Counters]) -> None:
        """Add the deltas in one transaction."""
        async with self._lock:
            await asyncio.to_thread(self._add, deltas)

    async def aclose(self) -> None:
        """Close the database."""
        async with self._lock:
            self._db.close()

"""SQLite persistence of watched sources and snapshots (stdlib sqlite3, WAL).

Layer: adapter (storage I/O). Implements `realtime.sources.SourceStore`. One
connection lives on one worker thread (a single-thread executor), so the event
loop never blocks on disk and SQLite sees one writer. Every query that reads or
changes a source carries the tenant in its key.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from agentplane.errors import UnavailableError
from realtime.sources import Snapshot, Source, report_from_dict, report_to_dict
from realtime.volatility import Volatility

__all__ = ["SqliteSourceStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    tenant TEXT NOT NULL,
    source_id TEXT NOT NULL,
    url TEXT NOT NULL,
    volatility TEXT NOT NULL,
    refresh_interval_s INTEGER NOT NULL,
    schema_json TEXT,
    created_at REAL NOT NULL,
    next_refresh_at REAL NOT NULL,
    last_refreshed_at REAL,
    refresh_count INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, source_id)
);
CREATE INDEX IF NOT EXISTS sources_due ON sources (next_refresh_at);
CREATE TABLE IF NOT EXISTS snapshots (
    tenant TEXT NOT NULL,
    source_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    url TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    status_code INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    data_json TEXT,
    completeness REAL NOT NULL,
    content_sha256 TEXT NOT NULL,
    changed INTEGER NOT NULL,
    injection_json TEXT NOT NULL,
    PRIMARY KEY (tenant, source_id, version)
);
"""
_SOURCE_COLUMNS = (
    "tenant, source_id, url, volatility, refresh_interval_s, schema_json, created_at, next_refresh_at, "
    "last_refreshed_at, refresh_count, consecutive_failures, last_error"
)
_SNAPSHOT_COLUMNS = (
    "tenant, source_id, version, url, fetched_at, status_code, title, text, data_json, completeness, "
    "content_sha256, changed, injection_json"
)


def _source(row: tuple[Any, ...]) -> Source:
    return Source(
        tenant=row[0],
        source_id=row[1],
        url=row[2],
        volatility=Volatility(row[3]),
        refresh_interval_s=int(row[4]),
        schema=json.loads(row[5]) if row[5] else None,
        created_at=float(row[6]),
        next_refresh_at=float(row[7]),
        last_refreshed_at=None if row[8] is None else float(row[8]),
        refresh_count=int(row[9]),
        consecutive_failures=int(row[10]),
        last_error=row[11],
    )


def _snapshot(row: tuple[Any, ...]) -> Snapshot:
    return Snapshot(
        tenant=row[0],
        source_id=row[1],
        version=int(row[2]),
        url=row[3],
        fetched_at=float(row[4]),
        status_code=int(row[5]),
        title=row[6],
        text=row[7],
        data=json.loads(row[8]) if row[8] else None,
        completeness=float(row[9]),
        content_sha256=row[10],
        changed=bool(row[11]),
        injection=report_from_dict(json.loads(row[12])),
    )


class SqliteSourceStore:
    """Sources and snapshots in `<data_dir>/realtime/sources.db`.

    Args:
        path: Database file (its directory is created).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the file and tables (WAL mode). Idempotent."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realtime-store")
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(_SCHEMA)
        self._conn = conn

    async def aclose(self) -> None:
        """Close the connection and the worker thread. Idempotent."""
        if self._executor is None:
            return
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise UnavailableError("the source store is not open", reason="STORE_CLOSED")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise UnavailableError(f"the source store failed: {exc}", reason="STORE_FAILED") from exc

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("store is closed")
        return self._conn

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return list(self._db().execute(sql, params).fetchall())

    async def put_source(self, source: Source) -> None:
        """Insert or replace a source."""
        params = (
            source.tenant,
            source.source_id,
            source.url,
            source.volatility.value,
            source.refresh_interval_s,
            json.dumps(source.schema) if source.schema is not None else None,
            source.created_at,
            source.next_refresh_at,
            source.last_refreshed_at,
            source.refresh_count,
            source.consecutive_failures,
            source.last_error,
        )
        sql = f"INSERT OR REPLACE INTO sources ({_SOURCE_COLUMNS}) VALUES ({', '.join('?' * len(params))})"
        await self._run(self._query, sql, params)

    async def get_source(self, tenant: str, source_id: str) -> Source | None:
        """One source of `tenant`."""
        sql = f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE tenant = ? AND source_id = ?"
        rows = await self._run(self._query, sql, (tenant, source_id))
        return _source(rows[0]) if rows else None

    async def list_sources(self, tenant: str, after: str, limit: int) -> list[Source]:
        """Sources of `tenant` after `after`, in id order."""
        sql = f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE tenant = ? AND source_id > ? ORDER BY source_id LIMIT ?"
        return [_source(r) for r in await self._run(self._query, sql, (tenant, after, limit))]

    async def count_sources(self, tenant: str) -> int:
        """How many sources `tenant` watches."""
        rows = await self._run(self._query, "SELECT COUNT(*) FROM sources WHERE tenant = ?", (tenant,))
        return int(rows[0][0])

    def _delete(self, tenant: str, source_id: str) -> bool:
        db = self._db()
        with db:
            db.execute("BEGIN")
            gone = db.execute("DELETE FROM sources WHERE tenant = ? AND source_id = ?", (tenant, source_id)).rowcount
            db.execute("DELETE FROM snapshots WHERE tenant = ? AND source_id = ?", (tenant, source_id))
        return gone > 0

    async def delete_source(self, tenant: str, source_id: str) -> bool:
        """Remove a source and its snapshots."""
        return await self._run(self._delete, tenant, source_id)

    async def due_sources(self, now: float, limit: int) -> list[Source]:
        """Sources due at `now`, most overdue first."""
        sql = f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE next_refresh_at <= ? ORDER BY next_refresh_at LIMIT ?"
        return [_source(r) for r in await self._run(self._query, sql, (now, limit))]

    async def next_due_at(self) -> float | None:
        """The earliest next refresh time."""
        rows = await self._run(self._query, "SELECT MIN(next_refresh_at) FROM sources", ())
        return None if rows[0][0] is None else float(rows[0][0])

    async def watch_stats(self, now: float, grace_s: float) -> tuple[int, int, float]:
        """(sources, sources overdue by more than `grace_s`, seconds since the oldest last refresh)."""
        sql = "SELECT COUNT(*), SUM(next_refresh_at < ?), MIN(COALESCE(last_refreshed_at, created_at)) FROM sources"
        count, overdue, oldest = (await self._run(self._query, sql, (now - grace_s,)))[0]
        return int(count), int(overdue or 0), 0.0 if oldest is None else max(0.0, now - float(oldest))

    def _add_snapshot(self, snapshot: Snapshot, keep: int) -> None:
        params = (
            snapshot.tenant,
            snapshot.source_id,
            snapshot.version,
            snapshot.url,
            snapshot.fetched_at,
            snapshot.status_code,
            snapshot.title,
            snapshot.text,
            json.dumps(snapshot.data) if snapshot.data is not None else None,
            snapshot.completeness,
            snapshot.content_sha256,
            int(snapshot.changed),
            json.dumps(report_to_dict(snapshot.injection)),
        )
        db = self._db()
        with db:
            db.execute("BEGIN")
            db.execute(
                f"INSERT OR REPLACE INTO snapshots ({_SNAPSHOT_COLUMNS}) VALUES ({', '.join('?' * len(params))})",
                params,
            )
            db.execute(
                "DELETE FROM snapshots WHERE tenant = ? AND source_id = ? AND version <= ?",
                (snapshot.tenant, snapshot.source_id, snapshot.version - keep),
            )

    async def add_snapshot(self, snapshot: Snapshot, keep: int) -> None:
        """Store a snapshot, keeping the `keep` latest of its source."""
        await self._run(self._add_snapshot, snapshot, keep)

    async def latest_snapshot(self, tenant: str, source_id: str) -> Snapshot | None:
        """The newest snapshot of a source."""
        sql = (
            f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant = ? AND source_id = ? "
            "ORDER BY version DESC LIMIT 1"
        )
        rows = await self._run(self._query, sql, (tenant, source_id))
        return _snapshot(rows[0]) if rows else None

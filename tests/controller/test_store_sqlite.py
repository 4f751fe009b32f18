"""What only the embedded backend does: WAL, group commit with per-operation savepoints, back-pressure, factory."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentplane.errors import InternalError, UnavailableError
from controller.models import TaskState
from controller.store import PostgresStore, SqliteStore, StoreConflictError, StoreSettings, open_store
from tests.controller import factories as f
from tests.controller.conftest import StoreHost


def _read_only(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_the_file_is_in_wal_mode_and_an_acknowledged_write_is_committed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "deep" / "dir" / "c.db", StoreSettings())
    await store.open()
    try:
        task = f.task()
        await store.create_task(task, events=[f.event(task, 1)], audit=[f.draft(task)])
        # An independent connection sees it at once: the write was committed before it was acknowledged.
        rows = await asyncio.to_thread(
            _read_only, store.path, "SELECT state FROM tasks WHERE task_id = ?", task.task_id
        )
        assert rows == [("RECEIVED",)]
        assert await asyncio.to_thread(_read_only, store.path, "PRAGMA journal_mode") == [("wal",)]
    finally:
        await store.aclose()


async def test_a_failing_operation_in_a_batch_does_not_fail_the_others(tmp_path: Path) -> None:
    # The writer waits (bounded) until 8 operations are queued, so all of them share one transaction.
    settings = StoreSettings(write_batch_max_ops=8, write_batch_max_delay_s=1.0)
    store = SqliteStore(tmp_path / "c.db", settings)
    await store.open()
    try:
        base = [f.task() for _ in range(7)]
        await asyncio.gather(*(store.create_task(t) for t in base))
        ops = [
            store.save_task(t.evolve(state=TaskState.RUNNING), expect_state=TaskState.RECEIVED, audit=[f.draft(t)])
            for t in base
        ]
        # Expects the RECEIVED state that the first operation of the same batch moved away from.
        late = base[0].evolve(state=TaskState.FAILED)
        ops.insert(3, store.save_task(late, expect_state=TaskState.RECEIVED, audit=[f.draft(base[0], "x")]))
        results = await asyncio.gather(*ops, return_exceptions=True)
        assert [type(r).__name__ for r in results] == ["NoneType"] * 3 + ["StoreConflictError"] + ["NoneType"] * 4
        for t in base:
            stored = await store.get_task("acme", t.task_id)
            assert stored is not None and stored.state is TaskState.RUNNING
        assert [e.sequence for e in await store.audit_events("acme")] == list(range(1, 8))
    finally:
        await store.aclose()


async def test_a_full_write_queue_refuses_with_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db", StoreSettings(write_queue_max_ops=1, write_batch_max_ops=1))
    await store.open()
    try:
        results = await asyncio.gather(*(store.create_task(f.task()) for _ in range(50)), return_exceptions=True)
        refused = [r for r in results if isinstance(r, BaseException)]
        assert refused and all(isinstance(r, UnavailableError) and r.reason == "STORE_OVERLOADED" for r in refused)
        assert all(isinstance(r, tuple) for r in results if r not in refused)
    finally:
        await store.aclose()


async def test_aclose_commits_what_was_queued(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db", StoreSettings())
    await store.open()
    tasks = [f.task() for _ in range(100)]
    pending = [asyncio.ensure_future(store.create_task(t)) for t in tasks]
    # Tasks start in creation order: every create is queued before aclose begins.
    await asyncio.ensure_future(store.aclose())
    assert all(p.result()[1] for p in pending)
    count = await asyncio.to_thread(_read_only, store.path, "SELECT count(*) FROM tasks")
    assert count == [(100,)]


async def test_an_unsupported_schema_version_is_refused(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db", StoreSettings())
    await store.open()
    await store.aclose()
    conn = sqlite3.connect(tmp_path / "c.db")
    conn.execute("UPDATE store_meta SET value = '99' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(InternalError, match="schema version is 99"):
        await SqliteStore(tmp_path / "c.db", StoreSettings()).open()


async def test_a_task_id_taken_in_the_same_batch_fails_only_that_create(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db", StoreSettings(write_batch_max_ops=3, write_batch_max_delay_s=1.0))
    await store.open()
    try:
        a, b = f.task(), f.task()
        dup = f.task(task_id=a.task_id)
        results = await asyncio.gather(
            store.create_task(a, audit=[f.draft(a)]),
            store.create_task(dup, audit=[f.draft(dup)]),
            store.create_task(b, audit=[f.draft(b)]),
            return_exceptions=True,
        )
        assert isinstance(results[1], StoreConflictError)
        assert await store.audit_head("acme") == (2, (await store.audit_events("acme"))[-1].hash)
    finally:
        await store.aclose()


def test_open_store_picks_the_backend_and_anchors_relative_paths(tmp_path: Path) -> None:
    sqlite_store = open_store(StoreHost(tmp_path, StoreSettings()))
    assert isinstance(sqlite_store, SqliteStore) and sqlite_store.path == tmp_path / "controller.db"
    absolute = tmp_path / "elsewhere" / "x.db"
    assert open_store(StoreHost(Path("/nonexistent"), StoreSettings(sqlite_path=absolute))).path == absolute  # type: ignore[attr-defined]
    pg = StoreSettings(backend="postgres", postgres_dsn="postgresql://postgres@127.0.0.1:5432/test")
    assert isinstance(open_store(StoreHost(tmp_path, pg)), PostgresStore)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"backend": "postgres"}, "postgres_dsn is required"),
        ({"postgres_schema": "x; drop"}, "plain SQL identifier"),
        ({"postgres_pool_min_size": 5, "postgres_pool_max_size": 2}, "must not exceed"),
        ({"backend": "mysql"}, "backend"),
    ],
)
def test_bad_store_settings_are_named(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        StoreSettings(**fields)


async def test_an_unreachable_postgres_is_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = f"postgresql://postgres@127.0.0.1:{port}/test"
    store = PostgresStore(dsn, StoreSettings(backend="postgres", postgres_dsn=dsn, postgres_connect_timeout_s=2))
    with pytest.raises(UnavailableError, match="cannot be used now"):
        await store.open()

"""The embedded store: one SQLite file in WAL mode with group commit.

Layer: controller adapters (storage). One writer thread owns the only writing
connection. It drains a queue of write programs and commits them in batches: each
batch is one transaction, each program runs inside its own SAVEPOINT (a program that
fails is rolled back alone; the rest of the batch still commits), and a caller's
future resolves only after the COMMIT of its batch, so every acknowledged write is
persisted. Reads run on separate connections in a small thread pool; WAL lets them
proceed while the writer commits. The event loop never blocks on SQLite.

Durability: with synchronous=NORMAL (default) a committed batch survives a process
crash; synchronous=FULL also survives power loss at some cost per batch.
A write whose caller is cancelled while it waits may still be committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from agentplane.errors import AgentplaneError, InternalError, UnavailableError
from controller.store.base import StoreConflictError
from controller.store.codec import SQLITE
from controller.store.schema import SCHEMA_VERSION, Statements, ddl, sqlite_sql
from controller.store.settings import StoreSettings
from controller.store.sql_store import SqlStore
from controller.store.writes import Program, Query

__all__ = ["SqliteStore"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]
_Op = tuple[Program[Any], "asyncio.Future[Any]"]
_STOP = object()


def _store_error(exc: Exception) -> Exception:
    """Translate a sqlite3 exception into the store's errors (others pass through)."""
    if isinstance(exc, StoreConflictError | AgentplaneError | ValueError) or not isinstance(exc, sqlite3.Error):
        return exc
    mapped: Exception
    if isinstance(exc, sqlite3.IntegrityError):
        mapped = StoreConflictError(f"write conflicts with stored data: {exc}")
    elif isinstance(exc, sqlite3.OperationalError):
        mapped = UnavailableError(f"the SQLite store cannot be used now: {exc}", reason="STORE_UNAVAILABLE")
    else:
        mapped = InternalError(f"the SQLite store failed: {exc}", reason="STORE_FAILED")
    mapped.__cause__ = exc
    return mapped


class _Sql:
    """Runs `Query` objects on a sqlite3 connection (placeholders rewritten once)."""

    def __init__(self) -> None:
        self._translated: dict[str, str] = {}

    def execute(self, conn: sqlite3.Connection, query: Query) -> Any:
        sql = self._translated.get(query.sql)
        if sql is None:
            sql = self._translated[query.sql] = sqlite_sql(query.sql)
        if query.kind == "many":
            conn.executemany(sql, query.args)
            return None
        cursor = conn.execute(sql, query.args)
        if query.kind == "count":
            return cursor.rowcount
        rows = cursor.fetchall()
        if query.kind == "rows":
            return rows
        return rows[0] if rows else None

    def run(self, conn: sqlite3.Connection, program: Program[T]) -> T:
        result: Any = None
        try:
            while True:
                try:
                    query = program.send(result)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                result = self.execute(conn, query)
        finally:
            program.close()


def _connect(path: Path, settings: StoreSettings, *, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=settings.busy_timeout_s, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(settings.busy_timeout_s * 1000)}")
    if writer:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.close()
            raise UnavailableError(f"SQLite file {path} cannot use WAL mode (got {mode!r})", reason="STORE_UNAVAILABLE")
        conn.execute(f"PRAGMA synchronous = {settings.sqlite_synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
    else:
        conn.execute("PRAGMA query_only = ON")
    return conn


def _create_schema(conn: sqlite3.Connection, sql: _Sql) -> None:
    conn.executescript(ddl("sqlite"))
    sql.execute(conn, Query(Statements.META_INSERT, ("schema_version", SCHEMA_VERSION)))
    row = sql.execute(conn, Query(Statements.META_SELECT, ("schema_version",), "row"))
    if row["value"] != SCHEMA_VERSION:
        raise InternalError(
            f"the store's schema version is {row['value']}, this controller supports {SCHEMA_VERSION}",
            reason="STORE_SCHEMA_MISMATCH",
        )


class _GroupCommitWriter:
    """The writer thread: drains queued programs and commits them in batches."""

    def __init__(self, conn: sqlite3.Connection, sql: _Sql, settings: StoreSettings) -> None:
        self._conn, self._sql, self._settings = conn, sql, settings
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._accepting = True
        self._thread = threading.Thread(target=self._main, name="controller-store-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, program: Program[T]) -> asyncio.Future[T]:
        """Queue `program`; the future resolves once its batch is committed (or it failed)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._lock:
            if not self._accepting:
                program.close()
                raise UnavailableError("the store is closed", reason="STORE_CLOSED")
            if self._queue.qsize() >= self._settings.write_queue_max_ops:
                program.close()
                raise UnavailableError(
                    f"the store's write queue is full ({self._settings.write_queue_max_ops} operations)",
                    reason="STORE_OVERLOADED",
                    retry_after_s=0.1,
                )
            self._queue.put((program, future))
        return future

    def stop(self) -> None:
        """Commit what is queued, stop the thread, close the connection (blocking)."""
        with self._lock:
            if self._accepting:
                self._accepting = False
                self._queue.put(_STOP)
        self._thread.join()

    def _main(self) -> None:
        try:
            stop = False
            while not stop:
                batch, stop = self._next_batch()
                if batch:
                    self._settle(self._commit(batch))
        except BaseException:
            logger.exception("the store's writer thread failed; writes are refused from now on")
            raise
        finally:
            with self._lock:
                self._accepting = False
            left: list[_Outcome] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP:
                    left.append((item[1], None, UnavailableError("the store is closed", reason="STORE_CLOSED")))
            self._settle_ops(left)
            self._conn.close()

    def _next_batch(self) -> tuple[list[_Op], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch: list[_Op] = [first]
        max_ops, delay = self._settings.write_batch_max_ops, self._settings.write_batch_max_delay_s
        deadline = time.monotonic() + delay
        while len(batch) < max_ops:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _commit(self, batch: list[_Op]) -> list[tuple[_Op, Any, BaseException | None]]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [self._run_one(op) for op in batch]
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            logger.warning("store batch of %d write(s) failed: %s", len(batch), exc)
            return [(op, None, _store_error(exc)) for op in batch]
        return outcomes

    def _run_one(self, op: _Op) -> tuple[_Op, Any, BaseException | None]:
        conn = self._conn
        conn.execute("SAVEPOINT op")
        try:
            value = self._sql.run(conn, op[0])
        except Exception as exc:
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            return op, None, _store_error(exc)
        conn.execute("RELEASE op")
        return op, value, None

    def _settle(self, outcomes: list[tuple[_Op, Any, BaseException | None]]) -> None:
        self._settle_ops([(op[1], value, error) for op, value, error in outcomes])

    @staticmethod
    def _settle_ops(outcomes: list[_Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                loop.call_soon_threadsafe(_resolve, items)


def _resolve(outcomes: list[_Outcome]) -> None:
    for future, value, error in outcomes:
        if future.done():  # the caller was cancelled
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


class SqliteStore(SqlStore):
    """The `Store` on one SQLite file (WAL, one group-committing writer, pooled readers)."""

    def __init__(self, path: Path, settings: StoreSettings) -> None:
        """Create a closed store on `path`; call `open()` before use.

        Args:
            path: The database file (its directory is created when missing).
            settings: Busy timeout, synchronous mode, batch and pool sizes.
        """
        super().__init__(SQLITE)
        self._path, self._settings = path, settings
        self._sql = _Sql()
        self._writer: _GroupCommitWriter | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def open(self) -> None:
        """Create the file and schema if missing, start the writer thread (idempotent).

        Raises:
            UnavailableError: The file cannot be opened in WAL mode.
            InternalError: The file holds an unsupported schema version.
        """
        async with self._open_lock:
            if self._writer is not None:
                return
            conn = await asyncio.to_thread(self._open_writer_connection)
            self._executor = ThreadPoolExecutor(self._settings.sqlite_read_connections, "controller-store-read")
            self._writer = _GroupCommitWriter(conn, self._sql, self._settings)
            self._writer.start()

    def _open_writer_connection(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(self._path, self._settings, writer=True)
        try:
            _create_schema(conn, self._sql)
        except BaseException:
            conn.close()
            raise
        return conn

    async def aclose(self) -> None:
        """Commit queued writes, stop the writer, close every connection (idempotent)."""
        async with self._open_lock:
            writer, self._writer = self._writer, None
            executor, self._executor = self._executor, None
            if writer is not None:
                await asyncio.to_thread(writer.stop)
            if executor is not None:
                await asyncio.to_thread(executor.shutdown, True)
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for conn in readers:
                conn.close()

    async def _write(self, program: Program[T]) -> T:
        if self._writer is None:
            program.close()
            raise UnavailableError("the store is not open", reason="STORE_CLOSED")
        return await self._writer.submit(program)

    async def _read(self, query: Query) -> Any:
        if self._executor is None:
            raise UnavailableError("the store is not open", reason="STORE_CLOSED")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read_sync, query)

    def _read_sync(self, query: Query) -> Any:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self._path, self._settings, writer=False)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        try:
            return self._sql.execute(conn, query)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

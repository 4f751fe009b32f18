"""The shared store: PostgreSQL through an asyncpg pool.

Layer: controller adapters (storage). Each write program runs in one transaction on
one pooled connection (READ COMMITTED). Concurrency between controller replicas is
settled by the database: compare-and-set updates re-check their WHERE clause after
waiting for a concurrent writer, idempotent inserts wait on the unique index, and
audit appends lock their tenant's `audit_heads` row (SELECT ... FOR UPDATE), so a
tenant's chain never forks or skips a sequence. Driver errors become store errors at
this boundary (`_translate_errors`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]

from agentplane.errors import InternalError, InvalidArgumentError, UnavailableError
from controller.store.base import StoreConflictError
from controller.store.codec import POSTGRES
from controller.store.schema import SCHEMA_VERSION, Statements, ddl
from controller.store.settings import StoreSettings
from controller.store.sql_store import SqlStore
from controller.store.writes import Program, Query

__all__ = ["PostgresStore"]

T = TypeVar("T")

# pg_advisory_xact_lock key serialising schema creation between replicas ("agentpln").
_SCHEMA_LOCK_KEY = 0x6167656E74706C6E

_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.AdminShutdownError,
)


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn asyncpg and socket errors into store errors; the most specific match wins."""
    try:
        yield
    except (asyncpg.exceptions.UniqueViolationError, asyncpg.exceptions.ForeignKeyViolationError) as exc:
        raise StoreConflictError(f"write conflicts with stored data: {exc}") from exc
    except asyncpg.exceptions.DataError as exc:
        raise InvalidArgumentError(f"a value cannot be stored: {exc}", reason="UNSTORABLE_VALUE") from exc
    except _UNAVAILABLE as exc:
        raise UnavailableError(
            f"the PostgreSQL store cannot be used now: {type(exc).__name__}: {exc}", reason="STORE_UNAVAILABLE"
        ) from exc
    except asyncpg.PostgresError as exc:
        raise InternalError(f"the PostgreSQL store failed: {exc}", reason="STORE_FAILED") from exc


async def _execute(conn: Any, query: Query) -> Any:
    sql = f"{query.sql} FOR UPDATE" if query.for_update else query.sql
    if query.kind == "many":
        await conn.executemany(sql, query.args)
        return None
    if query.kind == "count":
        status: str = await conn.execute(sql, *query.args)
        return int(status.rsplit(" ", 1)[-1])
    if query.kind == "rows":
        return await conn.fetch(sql, *query.args)
    return await conn.fetchrow(sql, *query.args)


class PostgresStore(SqlStore):
    """The `Store` on PostgreSQL; several controller replicas may share one database."""

    def __init__(self, dsn: str, settings: StoreSettings) -> None:
        """Create a closed store; call `open()` before use.

        Args:
            dsn: libpq connection string, e.g. postgresql://postgres@127.0.0.1:5432/test.
            settings: Pool sizes, timeouts and the schema (search_path) to use.
        """
        super().__init__(POSTGRES)
        self._dsn, self._settings = dsn, settings
        self._pool: Any = None

    async def open(self) -> None:
        """Open the pool, create the schema and tables if missing (idempotent).

        Raises:
            UnavailableError: The server cannot be reached.
            InternalError: The database holds an unsupported schema version.
        """
        async with self._open_lock:
            if self._pool is not None:
                return
            schema = self._settings.postgres_schema
            server_settings = {"application_name": "agentplane-controller"}
            if schema:
                server_settings["search_path"] = f'"{schema}"'
            with _translate_errors():
                pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=self._settings.postgres_pool_min_size,
                    max_size=self._settings.postgres_pool_max_size,
                    timeout=self._settings.postgres_connect_timeout_s,
                    command_timeout=self._settings.postgres_command_timeout_s,
                    server_settings=server_settings,
                )
            try:
                with _translate_errors():
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_KEY)
                        if schema:
                            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                        await conn.execute(ddl("postgres"))
                        await _execute(conn, Query(Statements.META_INSERT, ("schema_version", SCHEMA_VERSION)))
                        row = await _execute(conn, Query(Statements.META_SELECT, ("schema_version",), "row"))
                if row["value"] != SCHEMA_VERSION:
                    raise InternalError(
                        f"the store's schema version is {row['value']}, this controller supports {SCHEMA_VERSION}",
                        reason="STORE_SCHEMA_MISMATCH",
                    )
            except BaseException:
                await pool.close()
                raise
            self._pool = pool

    async def aclose(self) -> None:
        """Wait for in-flight calls to return their connections, then close the pool (idempotent)."""
        async with self._open_lock:
            pool, self._pool = self._pool, None
            if pool is not None:
                await pool.close()

    def _require_pool(self) -> Any:
        if self._pool is None:
            raise UnavailableError("the store is not open", reason="STORE_CLOSED")
        return self._pool

    async def _write(self, program: Program[T]) -> T:
        try:
            pool = self._require_pool()
            with _translate_errors():
                async with pool.acquire() as conn, conn.transaction():
                    result: Any = None
                    while True:
                        try:
                            query = program.send(result)
                        except StopIteration as stop:
                            return stop.value  # type: ignore[no-any-return]
                        result = await _execute(conn, query)
        finally:
            program.close()

    async def _read(self, query: Query) -> Any:
        pool = self._require_pool()
        with _translate_errors():
            return await _execute(pool, query)

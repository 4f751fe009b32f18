"""Fixtures for controller tests: a real store on each backend (fresh SQLite file / fresh PostgreSQL schema)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from controller.store import Store, StoreSettings, open_store
from controller.store.schema import sqlite_sql

POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"

RawSql = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class StoreHost:
    """The slice of ControllerSettings that `open_store` reads."""

    data_dir: Path
    store: StoreSettings


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The test server's DSN; skips the test when nothing listens on 127.0.0.1:5432."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2.0).close()
    except OSError as exc:
        pytest.skip(f"PostgreSQL is unreachable at 127.0.0.1:5432 ({exc}); the postgres store tests need it")
    return POSTGRES_DSN


@pytest.fixture(params=["sqlite", "postgres"])
async def store_host(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreHost]:
    """Store settings for a fresh SQLite file, or for a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield StoreHost(tmp_path, StoreSettings())
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        yield StoreHost(tmp_path, StoreSettings(backend="postgres", postgres_dsn=dsn, postgres_schema=schema))
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


@pytest.fixture
async def store(store_host: StoreHost) -> AsyncIterator[Store]:
    """An opened store on the parametrised backend."""
    opened = open_store(store_host)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
def raw_sql(store_host: StoreHost) -> RawSql:
    """Run one statement (`$n` placeholders) straight on the store's database, bypassing the store."""
    settings = store_host.store

    async def run_sqlite(sql: str, *args: Any) -> None:
        def run() -> None:
            conn = sqlite3.connect(settings.resolved_sqlite_path(store_host.data_dir), isolation_level=None)
            try:
                conn.execute(sqlite_sql(sql), args)
            finally:
                conn.close()

        await asyncio.to_thread(run)

    async def run_postgres(sql: str, *args: Any) -> None:
        assert settings.postgres_dsn is not None
        conn = await asyncpg.connect(
            settings.postgres_dsn.get_secret_value(), server_settings={"search_path": settings.postgres_schema}
        )
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    return run_sqlite if settings.backend == "sqlite" else run_postgres

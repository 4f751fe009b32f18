"""The controller's persistence: the `Store` interface, its two backends, and a factory.

Layer: controller adapters (storage). `open_store(settings)` picks the backend named by
`settings.store.backend`; the caller then awaits `store.open()` and, at shutdown,
`store.aclose()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from controller.store.base import Snapshot, Store, StoreConflictError
from controller.store.postgres import PostgresStore
from controller.store.settings import StoreSettings
from controller.store.sqlite import SqliteStore

__all__ = [
    "PostgresStore",
    "Snapshot",
    "SqliteStore",
    "Store",
    "StoreConflictError",
    "StoreSettings",
    "open_store",
]


class _HasStoreSettings(Protocol):
    """What `open_store` reads of the service settings (ControllerSettings fits)."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def store(self) -> StoreSettings: ...


def open_store(settings: _HasStoreSettings) -> Store:
    """Build the configured store, not yet opened (await `open()` before use).

    Args:
        settings: The service settings; `store` chooses the backend and `data_dir`
            anchors a relative SQLite path.

    Returns:
        A `SqliteStore` or a `PostgresStore`.
    """
    store = settings.store
    if store.backend == "postgres":
        if store.postgres_dsn is None:
            raise ValueError("store.postgres_dsn is required when store.backend is 'postgres'")
        return PostgresStore(store.postgres_dsn.get_secret_value(), store)
    return SqliteStore(store.resolved_sqlite_path(settings.data_dir), store)

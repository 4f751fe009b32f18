"""Settings of the controller's store (nested as `[controller.store]`).

Layer: controller configuration. `ControllerSettings.store` holds one `StoreSettings`;
`open_store` reads it. Env example: `AGENTPLANE_CONTROLLER__STORE__BACKEND=postgres`,
`AGENTPLANE_CONTROLLER__STORE__POSTGRES_DSN=postgresql://postgres@127.0.0.1:5432/test`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from agentplane.settings import FrozenModel

__all__ = ["StoreSettings"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class StoreSettings(FrozenModel):
    """Where and how the controller persists tasks, reviews, audit events and snapshots."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    """"sqlite" (embedded default, one file) or "postgres" (shared by several replicas)."""
    sqlite_path: Path = Path("controller.db")
    """SQLite database file; a relative path is taken relative to data_dir."""
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """SQLite synchronous mode: NORMAL survives process crashes, FULL also power loss."""
    sqlite_read_connections: int = Field(4, ge=1, le=64)
    """Reader connections (and threads) serving concurrent reads under WAL."""
    busy_timeout_s: float = Field(5.0, gt=0)
    """How long SQLite waits for a lock held by another process before failing."""
    write_batch_max_ops: int = Field(256, ge=1, le=100_000)
    """Group commit: most write operations committed in one SQLite transaction."""
    write_batch_max_delay_s: float = Field(0.0, ge=0, le=1.0)
    """Group commit: how long the writer waits for more operations before committing (0: no wait)."""
    write_queue_max_ops: int = Field(10_000, ge=1)
    """Write operations queued beyond this are refused with UNAVAILABLE (back-pressure)."""
    postgres_dsn: SecretStr | None = None
    """PostgreSQL DSN, e.g. postgresql://postgres@127.0.0.1:5432/test; required when backend is postgres."""
    postgres_schema: str = ""
    """Schema (search_path) holding the tables; empty uses the server's default."""
    postgres_pool_min_size: int = Field(2, ge=0)
    """Connections the pool keeps open."""
    postgres_pool_max_size: int = Field(10, ge=1)
    """Most connections the pool opens."""
    postgres_connect_timeout_s: float = Field(10.0, gt=0)
    """Time allowed to open one connection."""
    postgres_command_timeout_s: float = Field(30.0, gt=0)
    """Time allowed for one statement before it is cancelled."""

    @field_validator("postgres_schema")
    @classmethod
    def _valid_schema(cls, value: str) -> str:
        if value and not _IDENTIFIER.match(value):
            raise ValueError("must be a plain SQL identifier (letters, digits, underscore; at most 63)")
        return value

    @model_validator(mode="after")
    def _postgres_needs_dsn(self) -> StoreSettings:
        if self.backend == "postgres" and self.postgres_dsn is None:
            raise ValueError("postgres_dsn is required when backend is 'postgres'")
        if self.postgres_pool_min_size > self.postgres_pool_max_size:
            raise ValueError("postgres_pool_min_size must not exceed postgres_pool_max_size")
        return self

    def resolved_sqlite_path(self, data_dir: Path) -> Path:
        """The SQLite file: `sqlite_path` when absolute, else under `data_dir`."""
        return self.sqlite_path if self.sqlite_path.is_absolute() else data_dir / self.sqlite_path

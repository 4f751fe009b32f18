"""The store's tables and statements, written once for SQLite and PostgreSQL.

Layer: controller adapters (storage). Statements use PostgreSQL's `$n` placeholders;
the SQLite backend rewrites them to `?n` (`sqlite_sql`). The DDL differs only in two
column types: timestamps (TIMESTAMPTZ on PostgreSQL, integer microseconds since the
epoch on SQLite, both exact to the microsecond) and JSON documents (JSON / TEXT).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "AUDIT_COLUMNS",
    "EVENT_COLUMNS",
    "REVIEW_COLUMNS",
    "SCHEMA_VERSION",
    "TASK_COLUMNS",
    "Statements",
    "ddl",
    "sqlite_sql",
]

SCHEMA_VERSION = "1"

TASK_COLUMNS = (
    "task_id",
    "tenant",
    "text",
    "state",
    "created_at",
    "updated_at",
    "task_type",
    "session_id",
    "idempotency_key",
    "sensitivity",
    "request",
    "text_retained",
    "submitted_by",
    "plan",
    "result",
    "clarification",
    "review_id",
    "error",
    "trace_id",
    "completed_at",
    "attempts",
    "escalation_reason",
    "confidence_threshold",
)
EVENT_COLUMNS = ("task_id", "sequence", "tenant", "type", "at", "message", "payload")
REVIEW_COLUMNS = (
    "review_id",
    "task_id",
    "tenant",
    "state",
    "reason",
    "created_at",
    "expires_at",
    "task_type",
    "task_text",
    "proposed_answer",
    "route",
    "confidence",
    "resolved_at",
    "reviewer",
    "comment",
    "final_answer",
)
AUDIT_COLUMNS = (
    "tenant",
    "sequence",
    "task_id",
    "action",
    "actor",
    "trace_id",
    "at",
    "details_json",
    "prev_hash",
    "hash",
)

_DDL = """
CREATE TABLE IF NOT EXISTS store_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    task_type TEXT NOT NULL,
    session_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    sensitivity TEXT NOT NULL,
    request {json} NOT NULL,
    text_retained BOOLEAN NOT NULL,
    submitted_by TEXT NOT NULL,
    plan {json},
    result {json},
    clarification {json},
    review_id TEXT NOT NULL,
    error TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    completed_at {ts},
    attempts INTEGER NOT NULL,
    escalation_reason TEXT NOT NULL,
    confidence_threshold DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_idempotency ON tasks (tenant, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX IF NOT EXISTS tasks_unfinished ON tasks (created_at, task_id) WHERE state IN ('RECEIVED', 'RUNNING');
CREATE INDEX IF NOT EXISTS tasks_session ON tasks (tenant, session_id, created_at, task_id);
CREATE TABLE IF NOT EXISTS task_events (
    task_id TEXT NOT NULL REFERENCES tasks (task_id),
    sequence BIGINT NOT NULL,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    at {ts} NOT NULL,
    message TEXT NOT NULL,
    payload {json} NOT NULL,
    PRIMARY KEY (task_id, sequence)
);
CREATE TABLE IF NOT EXISTS reviews (
    review_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (task_id),
    tenant TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at {ts} NOT NULL,
    expires_at {ts} NOT NULL,
    task_type TEXT NOT NULL,
    task_text TEXT NOT NULL,
    proposed_answer TEXT NOT NULL,
    route TEXT,
    confidence {json},
    resolved_at {ts},
    reviewer TEXT NOT NULL,
    comment TEXT NOT NULL,
    final_answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_state ON reviews (tenant, state, review_id);
CREATE INDEX IF NOT EXISTS reviews_by_tenant ON reviews (tenant, review_id);
CREATE INDEX IF NOT EXISTS reviews_expiry ON reviews (state, expires_at, review_id);
CREATE TABLE IF NOT EXISTS audit_events (
    tenant TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    task_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    at {ts} NOT NULL,
    details_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant, sequence)
);
CREATE INDEX IF NOT EXISTS audit_by_task ON audit_events (tenant, task_id, sequence);
CREATE TABLE IF NOT EXISTS audit_heads (
    tenant TEXT PRIMARY KEY,
    sequence BIGINT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_signed_heads (
    tenant TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    statement TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tenant, sequence)
);
CREATE TABLE IF NOT EXISTS snapshots (
    tenant TEXT NOT NULL,
    url TEXT NOT NULL,
    fetched_at {ts} NOT NULL,
    data {json} NOT NULL,
    PRIMARY KEY (tenant, url)
);
"""

_TYPES = {
    "sqlite": {"ts": "INTEGER", "json": "TEXT"},
    "postgres": {"ts": "TIMESTAMPTZ", "json": "JSON"},
}


def ddl(dialect: Literal["sqlite", "postgres"]) -> str:
    """The idempotent schema script (CREATE ... IF NOT EXISTS) for `dialect`."""
    return _DDL.format(**_TYPES[dialect])


_PLACEHOLDER = re.compile(r"\$(\d+)")


def sqlite_sql(sql: str) -> str:
    """Rewrite PostgreSQL placeholders (`$1`) into SQLite's numbered form (`?1`)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


def _params(start: int, count: int) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count))


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_params(1, len(columns))})"


def _assignments(columns: tuple[str, ...], start: int) -> str:
    return ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start))


_TASK_MUTABLE = TASK_COLUMNS[2:]  # all but task_id, tenant (the row's identity)
_REVIEW_MUTABLE = tuple(c for c in REVIEW_COLUMNS if c not in ("review_id", "task_id", "tenant"))
_N_TASK = len(TASK_COLUMNS)
_N_REVIEW = len(REVIEW_COLUMNS)


class Statements:
    """Every statement the store runs, as class constants (`$n` placeholders)."""

    META_INSERT = "INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
    META_SELECT = "SELECT value FROM store_meta WHERE name = $1"

    TASK_INSERT = (
        _insert("tasks", TASK_COLUMNS)
        + " ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key <> '' DO NOTHING RETURNING task_id"
    )
    # Arguments: the task's columns in TASK_COLUMNS order (task_id = $1, tenant = $2).
    TASK_UPDATE = f"UPDATE tasks SET {_assignments(_TASK_MUTABLE, 3)} WHERE task_id = $1 AND tenant = $2"
    TASK_UPDATE_CAS = TASK_UPDATE + f" AND state = ${_N_TASK + 1}"
    TASK_SELECT = f"SELECT {', '.join(TASK_COLUMNS)} FROM tasks"
    TASK_GET = TASK_SELECT + " WHERE task_id = $1 AND tenant = $2"
    TASK_BY_KEY = TASK_SELECT + " WHERE tenant = $1 AND idempotency_key = $2 AND idempotency_key <> ''"
    TASK_STATE = "SELECT state FROM tasks WHERE task_id = $1 AND tenant = $2"
    # Literal states so that SQLite can use the partial index.
    TASKS_UNFINISHED = TASK_SELECT + " WHERE state IN ('RECEIVED', 'RUNNING') ORDER BY created_at, task_id"
    TASKS_OF_SESSION = (
        f"SELECT * FROM ({TASK_SELECT} WHERE tenant = $1 AND session_id = $2"
        " ORDER BY created_at DESC, task_id DESC LIMIT $3) AS recent ORDER BY created_at, task_id"
    )

    EVENT_INSERT = _insert("task_events", EVENT_COLUMNS)
    EVENTS_AFTER = (
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM task_events"
        " WHERE task_id = $1 AND tenant = $2 AND sequence > $3 ORDER BY sequence"
    )

    REVIEW_UPSERT = (
        _insert("reviews", REVIEW_COLUMNS)
        + " ON CONFLICT (review_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in _REVIEW_MUTABLE)
        + " WHERE reviews.tenant = excluded.tenant AND reviews.task_id = excluded.task_id"
    )
    # Arguments: the review's columns in REVIEW_COLUMNS order, then the expected state.
    REVIEW_UPDATE_CAS = (
        f"UPDATE reviews SET {_assignments(_REVIEW_MUTABLE, 4)}"
        f" WHERE review_id = $1 AND task_id = $2 AND tenant = $3 AND state = ${_N_REVIEW + 1}"
    )
    REVIEW_STATE = "SELECT state FROM reviews WHERE review_id = $1 AND tenant = $2"
    REVIEW_SELECT = f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews"
    REVIEW_GET = REVIEW_SELECT + " WHERE review_id = $1 AND tenant = $2"
    REVIEWS_OF_TENANT = REVIEW_SELECT + " WHERE tenant = $1 AND review_id > $2 ORDER BY review_id LIMIT $3"
    REVIEWS_IN_STATE = (
        REVIEW_SELECT + " WHERE tenant = $1 AND state = $2 AND review_id > $3 ORDER BY review_id LIMIT $4"
    )
    REVIEWS_EXPIRED = (
        REVIEW_SELECT + " WHERE state = 'PENDING' AND expires_at <= $1 ORDER BY expires_at, review_id LIMIT $2"
    )
    REVIEWS_PENDING_STATS = "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM reviews WHERE state = 'PENDING'"

    AUDIT_INSERT = _insert("audit_events", AUDIT_COLUMNS)
    AUDIT_SELECT = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_events"
    AUDIT_AFTER = AUDIT_SELECT + " WHERE tenant = $1 AND sequence > $2 ORDER BY sequence LIMIT $3"
    AUDIT_OF_TASK = AUDIT_SELECT + " WHERE tenant = $1 AND task_id = $2 AND sequence > $3 ORDER BY sequence LIMIT $4"
    HEAD_SELECT = "SELECT sequence, hash FROM audit_heads WHERE tenant = $1"
    HEAD_CREATE = "INSERT INTO audit_heads (tenant, sequence, hash) VALUES ($1, 0, '') ON CONFLICT (tenant) DO NOTHING"
    HEAD_UPDATE = "UPDATE audit_heads SET sequence = $2, hash = $3 WHERE tenant = $1"
    HEADS_UNSIGNED = (
        "SELECT tenant, sequence, hash FROM audit_heads h WHERE sequence > 0 AND NOT EXISTS"
        " (SELECT 1 FROM audit_signed_heads s WHERE s.tenant = h.tenant AND s.sequence = h.sequence)"
        " ORDER BY tenant LIMIT $1"
    )

    SIGNED_HEAD_INSERT = (
        "INSERT INTO audit_signed_heads (tenant, sequence, statement, signature) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (tenant, sequence) DO NOTHING"
    )
    SIGNED_HEAD_SELECT = "SELECT tenant, sequence, statement, signature FROM audit_signed_heads"
    SIGNED_HEAD_GET = SIGNED_HEAD_SELECT + " WHERE tenant = $1 AND sequence = $2"
    SIGNED_HEADS_AFTER = SIGNED_HEAD_SELECT + " WHERE tenant = $1 AND sequence > $2 ORDER BY sequence LIMIT $3"

    SNAPSHOT_UPSERT = (
        "INSERT INTO snapshots (tenant, url, fetched_at, data) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (tenant, url) DO UPDATE SET fetched_at = excluded.fetched_at, data = excluded.data"
    )
    SNAPSHOT_GET = "SELECT tenant, url, fetched_at, data FROM snapshots WHERE tenant = $1 AND url = $2"

"""Row <-> dataclass conversion shared by the SQLite and PostgreSQL backends.

Layer: controller adapters (storage). A `Codec` turns domain objects into statement
arguments (in the column order of `controller.store.schema`) and rows back into
domain objects. The dialects differ only in how a timestamp travels: PostgreSQL
takes timezone-aware datetimes (TIMESTAMPTZ), SQLite integer microseconds since the
epoch. Either way every datetime is stored in UTC with microsecond precision and read
back timezone-aware in UTC, which the audit hash chain depends on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from controller.models import (
    AuditEvent,
    Clarification,
    Confidence,
    EventType,
    Plan,
    Review,
    ReviewState,
    Route,
    Task,
    TaskEvent,
    TaskRequest,
    TaskResult,
    TaskState,
)
from controller.store.base import Snapshot

__all__ = ["POSTGRES", "SQLITE", "Codec", "Row", "as_utc"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Row(Protocol):
    """A result row addressable by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: str, /) -> Any: ...


def as_utc(at: datetime) -> datetime:
    """`at` in UTC; a naive datetime is taken to be UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _plain(value: Any) -> Any:
    """`value` with dataclasses turned into dicts: `to_dict()` without asdict's deep copies."""
    fields = getattr(type(value), "__dataclass_fields__", None)
    if fields is not None:
        return {name: _plain(getattr(value, name)) for name in fields}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _dumps(value: Any, what: str) -> str:
    """Compact JSON of `value` (dataclasses as dicts, enums as their values); NaN is refused."""
    try:
        return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc}") from exc


def _loads(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


@dataclass(frozen=True)
class Codec:
    """Conversions for one SQL dialect."""

    timestamps: Literal["native", "micros"]

    def ts(self, at: datetime) -> Any:
        """A datetime as a statement argument (UTC, microsecond precision)."""
        utc = as_utc(at)
        return utc if self.timestamps == "native" else (utc - _EPOCH) // _MICROSECOND

    def opt_ts(self, at: datetime | None) -> Any:
        """`ts`, passing None through."""
        return None if at is None else self.ts(at)

    def from_ts(self, value: Any) -> datetime:
        """A stored timestamp as a timezone-aware UTC datetime."""
        if self.timestamps == "micros":
            return _EPOCH + timedelta(microseconds=int(value))
        return as_utc(value)

    def from_opt_ts(self, value: Any) -> datetime | None:
        """`from_ts`, passing None through."""
        return None if value is None else self.from_ts(value)

    def task_args(self, task: Task) -> tuple[Any, ...]:
        """The task's columns in TASK_COLUMNS order."""
        return (
            task.task_id,
            task.tenant,
            task.text,
            task.state.value,
            self.ts(task.created_at),
            self.ts(task.updated_at),
            task.task_type,
            task.session_id,
            task.idempotency_key,
            task.sensitivity,
            _dumps(task.request, "task request"),
            bool(task.text_retained),
            task.submitted_by,
            None if task.plan is None else _dumps(task.plan, "task plan"),
            None if task.result is None else _dumps(task.result, "task result"),
            None if task.clarification is None else _dumps(task.clarification, "task clarification"),
            task.review_id,
            task.error,
            task.trace_id,
            self.opt_ts(task.completed_at),
            task.attempts,
            task.escalation_reason,
            float(task.confidence_threshold),
        )

    def task(self, row: Row) -> Task:
        """A task from a row selected with TASK_COLUMNS."""
        plan, result, clarification = _loads(row["plan"]), _loads(row["result"]), _loads(row["clarification"])
        return Task(
            task_id=row["task_id"],
            tenant=row["tenant"],
            text=row["text"],
            state=TaskState(row["state"]),
            created_at=self.from_ts(row["created_at"]),
            updated_at=self.from_ts(row["updated_at"]),
            task_type=row["task_type"],
            session_id=row["session_id"],
            idempotency_key=row["idempotency_key"],
            sensitivity=row["sensitivity"],
            request=TaskRequest.from_dict(json.loads(row["request"])),
            text_retained=bool(row["text_retained"]),
            submitted_by=row["submitted_by"],
            plan=None if plan is None else Plan.from_dict(plan),
            result=None if result is None else TaskResult.from_dict(result),
            clarification=None if clarification is None else Clarification.from_dict(clarification),
            review_id=row["review_id"],
            error=row["error"],
            trace_id=row["trace_id"],
            completed_at=self.from_opt_ts(row["completed_at"]),
            attempts=row["attempts"],
            escalation_reason=row["escalation_reason"],
            confidence_threshold=row["confidence_threshold"],
        )

    def event_args(self, event: TaskEvent, tenant: str) -> tuple[Any, ...]:
        """The event's columns in EVENT_COLUMNS order."""
        return (
            event.task_id,
            event.sequence,
            tenant,
            event.type.value,
            self.ts(event.at),
            event.message,
            _dumps(event.payload, "event payload"),
        )

    def event(self, row: Row) -> TaskEvent:
        """A task event from a row selected with EVENT_COLUMNS."""
        return TaskEvent(
            task_id=row["task_id"],
            sequence=row["sequence"],
            type=EventType(row["type"]),
            at=self.from_ts(row["at"]),
            message=row["message"],
            payload=json.loads(row["payload"]),
        )

    def review_args(self, review: Review) -> tuple[Any, ...]:
        """The review's columns in REVIEW_COLUMNS order."""
        return (
            review.review_id,
            review.task_id,
            review.tenant,
            review.state.value,
            review.reason,
            self.ts(review.created_at),
            self.ts(review.expires_at),
            review.task_type,
            review.task_text,
            review.proposed_answer,
            None if review.route is None else review.route.value,
            None if review.confidence is None else _dumps(review.confidence, "review confidence"),
            self.opt_ts(review.resolved_at),
            review.reviewer,
            review.comment,
            review.final_answer,
        )

    def review(self, row: Row) -> Review:
        """A review from a row selected with REVIEW_COLUMNS."""
        confidence = _loads(row["confidence"])
        return Review(
            review_id=row["review_id"],
            task_id=row["task_id"],
            tenant=row["tenant"],
            state=ReviewState(row["state"]),
            reason=row["reason"],
            created_at=self.from_ts(row["created_at"]),
            expires_at=self.from_ts(row["expires_at"]),
            task_type=row["task_type"],
            task_text=row["task_text"],
            proposed_answer=row["proposed_answer"],
            route=None if row["route"] is None else Route(row["route"]),
            confidence=None if confidence is None else Confidence.from_dict(confidence),
            resolved_at=self.from_opt_ts(row["resolved_at"]),
            reviewer=row["reviewer"],
            comment=row["comment"],
            final_answer=row["final_answer"],
        )

    def audit_args(self, event: AuditEvent) -> tuple[Any, ...]:
        """The audit event's columns in AUDIT_COLUMNS order."""
        return (
            event.tenant,
            event.sequence,
            event.task_id,
            event.action,
            event.actor,
            event.trace_id,
            self.ts(event.at),
            event.details_json,
            event.prev_hash,
            event.hash,
        )

    def audit(self, row: Row) -> AuditEvent:
        """An audit event from a row selected with AUDIT_COLUMNS."""
        return AuditEvent(
            tenant=row["tenant"],
            sequence=row["sequence"],
            task_id=row["task_id"],
            action=row["action"],
            actor=row["actor"],
            trace_id=row["trace_id"],
            at=self.from_ts(row["at"]),
            details_json=row["details_json"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )

    def snapshot_args(self, snapshot: Snapshot) -> tuple[Any, ...]:
        """(tenant, url, fetched_at, data) arguments of SNAPSHOT_UPSERT."""
        return (snapshot.tenant, snapshot.url, self.ts(snapshot.fetched_at), _dumps(snapshot.data, "snapshot data"))

    def snapshot(self, row: Row) -> Snapshot:
        """A snapshot from a (tenant, url, fetched_at, data) row."""
        return Snapshot(row["tenant"], row["url"], self.from_ts(row["fetched_at"]), json.loads(row["data"]))


POSTGRES = Codec("native")
SQLITE = Codec("micros")

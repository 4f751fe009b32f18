"""The `Store` methods, written once over two primitives each backend provides.

Layer: controller adapters (storage). `SqlStore` implements every `Store` method in
terms of `_write` (run a write program from `controller.store.writes` as one
transaction) and `_read` (run one query). `SqliteStore` and `PostgresStore` supply
those two, plus `open`/`aclose`.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from controller.audit import AuditDraft
from controller.audit_signing import SignedHead
from controller.models import AuditEvent, Review, ReviewState, Task, TaskEvent, TaskState
from controller.store import writes
from controller.store.base import Snapshot
from controller.store.codec import Codec
from controller.store.schema import Statements
from controller.store.writes import Program, Query

__all__ = ["SqlStore"]

T = TypeVar("T")


def _signed_head(row: Any) -> SignedHead:
    return SignedHead(str(row["tenant"]), int(row["sequence"]), str(row["statement"]), str(row["signature"]))


def _limit(limit: int) -> int:
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return limit


class SqlStore(abc.ABC):
    """Store methods over `_write` and `_read`; see `controller.store.base.Store`."""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        self._open_lock = asyncio.Lock()  # open() and aclose() never interleave

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if missing (idempotent)."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Flush pending writes and close connections."""

    @abc.abstractmethod
    async def _write(self, program: Program[T]) -> T:
        """Run `program` as one transaction (all of its writes or none); return its value."""

    @abc.abstractmethod
    async def _read(self, query: Query) -> Any:
        """Run one read-only query (kind "rows" or "row")."""

    async def create_task(
        self, task: Task, *, events: Sequence[TaskEvent] = (), audit: Sequence[AuditDraft] = ()
    ) -> tuple[Task, bool]:
        """See `Store.create_task`.

        Raises:
            StoreConflictError: The task id already exists.
        """
        return await self._write(writes.create_task(self._codec, task, events, audit))

    async def save_task(
        self,
        task: Task,
        *,
        expect_state: TaskState | None = None,
        events: Sequence[TaskEvent] = (),
        audit: Sequence[AuditDraft] = (),
        review: Review | None = None,
        expect_review_state: ReviewState | None = None,
    ) -> None:
        """See `Store.save_task`.

        Raises:
            StoreConflictError: A precondition failed (also: the task does not exist, an
                event sequence is taken); nothing was written.
        """
        await self._write(
            writes.save_task(
                self._codec,
                task,
                expect_state=expect_state,
                events=events,
                audit=audit,
                review=review,
                expect_review_state=expect_review_state,
            )
        )

    async def get_task(self, tenant: str, task_id: str) -> Task | None:
        """See `Store.get_task`."""
        row = await self._read(Query(Statements.TASK_GET, (task_id, tenant), "row"))
        return None if row is None else self._codec.task(row)

    async def unfinished_tasks(self) -> list[Task]:
        """See `Store.unfinished_tasks`."""
        return [self._codec.task(r) for r in await self._read(Query(Statements.TASKS_UNFINISHED, (), "rows"))]

    async def session_tasks(self, tenant: str, session_id: str, limit: int) -> list[Task]:
        """See `Store.session_tasks`."""
        rows = await self._read(Query(Statements.TASKS_OF_SESSION, (tenant, session_id, _limit(limit)), "rows"))
        return [self._codec.task(r) for r in rows]

    async def task_events(self, tenant: str, task_id: str, after_sequence: int = 0) -> list[TaskEvent]:
        """See `Store.task_events`."""
        rows = await self._read(Query(Statements.EVENTS_AFTER, (task_id, tenant, after_sequence), "rows"))
        return [self._codec.event(r) for r in rows]

    async def get_review(self, tenant: str, review_id: str) -> Review | None:
        """See `Store.get_review`."""
        row = await self._read(Query(Statements.REVIEW_GET, (review_id, tenant), "row"))
        return None if row is None else self._codec.review(row)

    async def list_reviews(
        self, tenant: str, state: ReviewState | None, limit: int, after_review_id: str = ""
    ) -> list[Review]:
        """See `Store.list_reviews`."""
        if state is None:
            query = Query(Statements.REVIEWS_OF_TENANT, (tenant, after_review_id, _limit(limit)), "rows")
        else:
            query = Query(Statements.REVIEWS_IN_STATE, (tenant, state.value, after_review_id, _limit(limit)), "rows")
        return [self._codec.review(r) for r in await self._read(query)]

    async def expired_reviews(self, now: datetime, limit: int) -> list[Review]:
        """See `Store.expired_reviews`."""
        rows = await self._read(Query(Statements.REVIEWS_EXPIRED, (self._codec.ts(now), _limit(limit)), "rows"))
        return [self._codec.review(r) for r in rows]

    async def pending_reviews(self) -> tuple[int, datetime | None]:
        """See `Store.pending_reviews`."""
        row = await self._read(Query(Statements.REVIEWS_PENDING_STATS, (), "row"))
        return int(row["pending"]), self._codec.from_opt_ts(row["oldest"])

    async def append_audit(self, drafts: Sequence[AuditDraft]) -> list[AuditEvent]:
        """See `Store.append_audit`."""
        if not drafts:
            return []
        return await self._write(writes.append_audit(self._codec, drafts))

    async def audit_events(
        self, tenant: str, *, task_id: str = "", after_sequence: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """See `Store.audit_events`."""
        if task_id:
            query = Query(Statements.AUDIT_OF_TASK, (tenant, task_id, after_sequence, _limit(limit)), "rows")
        else:
            query = Query(Statements.AUDIT_AFTER, (tenant, after_sequence, _limit(limit)), "rows")
        return [self._codec.audit(r) for r in await self._read(query)]

    async def audit_head(self, tenant: str) -> tuple[int, str]:
        """See `Store.audit_head`."""
        row = await self._read(Query(Statements.HEAD_SELECT, (tenant,), "row"))
        return (0, "") if row is None else (int(row["sequence"]), str(row["hash"]))

    async def unsigned_heads(self, limit: int) -> list[tuple[str, int, str]]:
        """See `Store.unsigned_heads`."""
        rows = await self._read(Query(Statements.HEADS_UNSIGNED, (_limit(limit),), "rows"))
        return [(str(r["tenant"]), int(r["sequence"]), str(r["hash"])) for r in rows]

    async def put_signed_head(self, head: SignedHead) -> SignedHead:
        """See `Store.put_signed_head`."""
        args = (head.tenant, head.sequence, head.statement_json, head.signature)
        await self._write(writes.run_one(Query(Statements.SIGNED_HEAD_INSERT, args)))
        row = await self._read(Query(Statements.SIGNED_HEAD_GET, (head.tenant, head.sequence), "row"))
        return head if row is None else _signed_head(row)

    async def signed_heads(self, tenant: str, *, after_sequence: int = 0, limit: int = 1000) -> list[SignedHead]:
        """See `Store.signed_heads`."""
        rows = await self._read(Query(Statements.SIGNED_HEADS_AFTER, (tenant, after_sequence, _limit(limit)), "rows"))
        return [_signed_head(r) for r in rows]

    async def put_snapshot(self, snapshot: Snapshot) -> None:
        """See `Store.put_snapshot`."""
        await self._write(writes.put_snapshot(self._codec, snapshot))

    async def get_snapshot(self, tenant: str, url: str) -> Snapshot | None:
        """See `Store.get_snapshot`."""
        row = await self._read(Query(Statements.SNAPSHOT_GET, (tenant, url), "row"))
        return None if row is None else self._codec.snapshot(row)

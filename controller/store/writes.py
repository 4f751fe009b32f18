"""The store's write transactions as I/O-free programs, run by either backend.

Layer: controller adapters (storage). Each write is a generator that yields `Query`
objects and receives their results; it never touches a connection. The SQLite
backend runs programs synchronously in its writer thread (one SAVEPOINT each inside
a group-commit transaction); the PostgreSQL backend awaits each query inside one
transaction. The rules (idempotency, compare-and-set, audit sealing) therefore exist
once, and both backends produce identical rows and identical audit hashes.

The public functions validate and encode their arguments at once, in the caller's
thread, and return the program; only the SQL round trips (and audit sealing, which
needs the chain's head) run later, inside the transaction. Whatever a program raises
undoes everything it wrote.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any, Literal, TypeVar

from controller.audit import AuditDraft, seal
from controller.models import AuditEvent, Review, ReviewState, Task, TaskEvent, TaskState
from controller.store.base import Snapshot, StoreConflictError
from controller.store.codec import Codec, as_utc
from controller.store.schema import Statements

__all__ = ["Program", "Query", "append_audit", "create_task", "put_snapshot", "run_one", "save_task"]

T = TypeVar("T")


@dataclass(frozen=True)
class Query:
    """One statement for a backend to run.

    `kind` says what the program gets back: "rows" (a list of rows), "row" (the first
    row or None), "count" (rows affected) or "many" (None; `args` is then a list of
    argument tuples, one execution each). `for_update` asks PostgreSQL to lock the
    selected rows; SQLite needs no lock because one thread writes.
    """

    sql: str
    args: Any = ()
    kind: Literal["rows", "row", "count", "many"] = "count"
    for_update: bool = False


Program = Generator[Query, Any, T]


def create_task(
    codec: Codec, task: Task, events: Sequence[TaskEvent], audit: Sequence[AuditDraft]
) -> Program[tuple[Task, bool]]:
    """Insert a task, its events and audit events, unless its idempotency key is taken.

    Arguments are validated and encoded now, in the caller; the program runs later.

    Raises:
        StoreConflictError: (when run) The task id already exists.
        ValueError: An event belongs to another task, or a value cannot be stored as JSON.
    """
    _check_events(task, events)
    return _create_task(codec, task, codec.task_args(task), _event_args(codec, task, events), _normalised(audit))


def _create_task(
    codec: Codec, task: Task, task_args: tuple[Any, ...], event_args: list[tuple[Any, ...]], audit: list[AuditDraft]
) -> Program[tuple[Task, bool]]:
    inserted = yield Query(Statements.TASK_INSERT, task_args, "row")
    if inserted is None:
        existing = yield Query(Statements.TASK_BY_KEY, (task.tenant, task.idempotency_key), "row")
        if existing is None:  # pragma: no cover - the conflict target is the idempotency key
            raise StoreConflictError(f"task {task.task_id!r} could not be inserted")
        return codec.task(existing), False
    if event_args:
        yield Query(Statements.EVENT_INSERT, event_args, "many")
    if audit:
        yield from _append_audit(codec, audit)
    return task, True


def save_task(
    codec: Codec,
    task: Task,
    *,
    expect_state: TaskState | None,
    events: Sequence[TaskEvent],
    audit: Sequence[AuditDraft],
    review: Review | None,
    expect_review_state: ReviewState | None,
) -> Program[None]:
    """Replace a task's row, append events and audit events, upsert its review.

    Arguments are validated and encoded now, in the caller; the program runs later.

    Raises:
        StoreConflictError: (when run) The task does not exist for its tenant, its stored
            state is not `expect_state`, the review's stored state is not
            `expect_review_state`, an event sequence is already taken, or the review
            id belongs to another task.
        ValueError: An event or the review belongs to another task, or a value cannot
            be stored as JSON.
    """
    _check_events(task, events)
    if review is not None and (review.tenant != task.tenant or review.task_id != task.task_id):
        raise ValueError(f"review {review.review_id!r} belongs to another task than {task.task_id!r}")
    if expect_review_state is not None and review is None:
        raise ValueError("expect_review_state needs the review to save")
    task_args = codec.task_args(task)
    update = (
        Query(Statements.TASK_UPDATE, task_args)
        if expect_state is None
        else Query(Statements.TASK_UPDATE_CAS, (*task_args, expect_state.value))
    )
    review_args = None if review is None else codec.review_args(review)
    return _save_task(
        codec,
        task,
        update,
        expect_state,
        _event_args(codec, task, events),
        review_args,
        expect_review_state,
        _normalised(audit),
    )


def _save_task(
    codec: Codec,
    task: Task,
    update: Query,
    expect_state: TaskState | None,
    event_args: list[tuple[Any, ...]],
    review_args: tuple[Any, ...] | None,
    expect_review_state: ReviewState | None,
    audit: list[AuditDraft],
) -> Program[None]:
    updated = yield update
    if updated == 0:
        row = yield Query(Statements.TASK_STATE, (task.task_id, task.tenant), "row")
        found = "does not exist" if row is None else f"is {row['state']}"
        raise StoreConflictError(f"task {task.task_id!r} {found}, expected {expect_state or 'it to exist'}")
    if event_args:
        yield Query(Statements.EVENT_INSERT, event_args, "many")
    if review_args is not None:
        yield from _save_review(review_args, expect_review_state)
    if audit:
        yield from _append_audit(codec, audit)


def _save_review(args: tuple[Any, ...], expect_state: ReviewState | None) -> Program[None]:
    review_id, tenant = args[0], args[2]
    if expect_state is None:
        changed = yield Query(Statements.REVIEW_UPSERT, args)
        if changed == 0:
            raise StoreConflictError(f"review id {review_id!r} is taken by another task")
        return
    changed = yield Query(Statements.REVIEW_UPDATE_CAS, (*args, expect_state.value))
    if changed == 0:
        row = yield Query(Statements.REVIEW_STATE, (review_id, tenant), "row")
        found = "does not exist" if row is None else f"is {row['state']}"
        raise StoreConflictError(f"review {review_id!r} {found}, expected {expect_state}")


def append_audit(codec: Codec, drafts: Sequence[AuditDraft]) -> Program[list[AuditEvent]]:
    """Seal `drafts` onto their tenants' chains and insert them; update the heads.

    Heads are locked in tenant order (PostgreSQL: SELECT ... FOR UPDATE), so replicas
    appending concurrently queue behind each other instead of forking a chain, and two
    multi-tenant appends cannot deadlock.
    """
    return _append_audit(codec, _normalised(drafts))


def _normalised(drafts: Sequence[AuditDraft]) -> list[AuditDraft]:
    # The hash covers `at` as text, so it must be the UTC form the store reads back.
    return [d if d.at.tzinfo is UTC else replace(d, at=as_utc(d.at)) for d in drafts]


def _append_audit(codec: Codec, drafts: list[AuditDraft]) -> Program[list[AuditEvent]]:
    if not drafts:
        return []
    heads: dict[str, tuple[int, str]] = {}
    for tenant in sorted({d.tenant for d in drafts}):
        head = yield Query(Statements.HEAD_SELECT, (tenant,), "row", for_update=True)
        if head is None:
            yield Query(Statements.HEAD_CREATE, (tenant,))
            head = yield Query(Statements.HEAD_SELECT, (tenant,), "row", for_update=True)
        heads[tenant] = (head["sequence"], head["hash"])
    sealed: list[AuditEvent] = []
    for draft in drafts:
        sequence, prev_hash = heads[draft.tenant]
        event = seal(draft, sequence + 1, prev_hash)
        heads[draft.tenant] = (event.sequence, event.hash)
        sealed.append(event)
    yield Query(Statements.AUDIT_INSERT, [codec.audit_args(e) for e in sealed], "many")
    for tenant, (sequence, digest) in heads.items():
        yield Query(Statements.HEAD_UPDATE, (tenant, sequence, digest))
    return sealed


def put_snapshot(codec: Codec, snapshot: Snapshot) -> Program[None]:
    """Upsert the snapshot of (tenant, url)."""
    return run_one(Query(Statements.SNAPSHOT_UPSERT, codec.snapshot_args(snapshot)))


def run_one(query: Query) -> Program[None]:
    """A program of one statement."""
    yield query


def _event_args(codec: Codec, task: Task, events: Sequence[TaskEvent]) -> list[tuple[Any, ...]]:
    return [codec.event_args(e, task.tenant) for e in events]


def _check_events(task: Task, events: Sequence[TaskEvent]) -> None:
    for event in events:
        if event.task_id != task.task_id:
            raise ValueError(f"event {event.sequence} belongs to task {event.task_id!r}, not {task.task_id!r}")

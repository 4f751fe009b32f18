"""The controller's store interface: tasks, events, reviews, audit, snapshots.

Layer: controller adapters (storage). Two implementations: `SqliteStore` (embedded
default, WAL, group commit) and `PostgresStore` (asyncpg). Every write method is
ONE transaction: a task's new state, its events, its review and its audit events
land together or not at all, so an acknowledged task is always persisted and the
audit trail never disagrees with the task table.

Tenant isolation is part of the contract: every read takes the caller's tenant and
never returns another tenant's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from controller.audit import AuditDraft
from controller.audit_signing import SignedHead
from controller.models import AuditEvent, Review, ReviewState, Task, TaskEvent, TaskState

__all__ = ["Snapshot", "Store", "StoreConflictError"]


class StoreConflictError(Exception):
    """A compare-and-set precondition did not hold (state changed concurrently)."""


@dataclass(frozen=True)
class Snapshot:
    """The last good real-time result for a URL, kept for degraded answers."""

    tenant: str
    url: str
    fetched_at: datetime
    data: dict[str, Any]


class Store(Protocol):
    """Persistence of the controller's state. All methods are safe to call concurrently."""

    async def open(self) -> None:
        """Connect and create the schema if missing (idempotent)."""

    async def aclose(self) -> None:
        """Flush pending writes and close connections."""

    async def create_task(
        self, task: Task, *, events: Sequence[TaskEvent] = (), audit: Sequence[AuditDraft] = ()
    ) -> tuple[Task, bool]:
        """Insert a new task with its first events and audit records.

        When the tenant already has a task with the same non-empty idempotency key,
        nothing is written and that task is returned instead.

        Returns:
            (the stored task, True if it was created now).
        """
        ...

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
        """Replace a task's state, append its events and audit records, upsert a review.

        Raises:
            StoreConflictError: `expect_state` (the task's stored state) or
                `expect_review_state` (the review's stored state) did not match.
        """
        ...

    async def get_task(self, tenant: str, task_id: str) -> Task | None:
        """The tenant's task, or None (also for another tenant's task id)."""
        ...

    async def unfinished_tasks(self) -> list[Task]:
        """Every task in RECEIVED or RUNNING, all tenants, oldest first (restart recovery)."""
        ...

    async def session_tasks(self, tenant: str, session_id: str, limit: int) -> list[Task]:
        """The last `limit` tasks of a session (any state), oldest first."""
        ...

    async def task_events(self, tenant: str, task_id: str, after_sequence: int = 0) -> list[TaskEvent]:
        """A task's events with sequence > after_sequence, in order."""
        ...

    async def get_review(self, tenant: str, review_id: str) -> Review | None:
        """The tenant's review, or None."""
        ...

    async def list_reviews(
        self, tenant: str, state: ReviewState | None, limit: int, after_review_id: str = ""
    ) -> list[Review]:
        """The tenant's reviews (state None = all), oldest first, paged by review id order."""
        ...

    async def expired_reviews(self, now: datetime, limit: int) -> list[Review]:
        """PENDING reviews of any tenant whose expires_at <= now."""
        ...

    async def pending_reviews(self) -> tuple[int, datetime | None]:
        """PENDING reviews of every tenant: how many, and when the oldest was opened (metrics)."""
        ...

    async def append_audit(self, drafts: Sequence[AuditDraft]) -> list[AuditEvent]:
        """Seal and append audit events (one transaction); returns them as stored."""
        ...

    async def audit_events(
        self, tenant: str, *, task_id: str = "", after_sequence: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """The tenant's audit events in sequence order (optionally of one task)."""
        ...

    async def audit_head(self, tenant: str) -> tuple[int, str]:
        """(last sequence, its hash) of the tenant's chain; (0, "") when empty."""
        ...

    async def unsigned_heads(self, limit: int) -> list[tuple[str, int, str]]:
        """(tenant, sequence, hash) of every non-empty chain whose current head has no signature yet."""
        ...

    async def put_signed_head(self, head: SignedHead) -> SignedHead:
        """Keep a signed head unless one exists at that (tenant, sequence); return the one kept."""
        ...

    async def signed_heads(self, tenant: str, *, after_sequence: int = 0, limit: int = 1000) -> list[SignedHead]:
        """The tenant's signed heads in sequence order."""
        ...

    async def put_snapshot(self, snapshot: Snapshot) -> None:
        """Keep the latest good real-time result for (tenant, url)."""
        ...

    async def get_snapshot(self, tenant: str, url: str) -> Snapshot | None:
        """The latest kept result for (tenant, url), or None."""
        ...

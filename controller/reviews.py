"""The human review queue: listing, resolving and expiring reviews.

Layer: controller domain. Only a reviewer (role `reviewer`) of the task's own
tenant may resolve its review; a review is resolved once (compare-and-set on its
PENDING state), and the decision completes the task: approve keeps the proposed
answer, edit replaces it, reject ends the task as REJECTED. Pending reviews past
their expiry are expired and their tasks fail explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

from agentplane.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError
from agentplane.request_context import Principal
from controller.models import EventType, Review, ReviewDecision, ReviewState, Task, TaskState, utcnow
from controller.recorder import TaskRecorder
from controller.store.base import StoreConflictError

__all__ = ["ReviewDesk"]

log = logging.getLogger(__name__)
REVIEWER_ROLE = "reviewer"


class ReviewDesk:
    """Resolves and expires reviews.

    Args:
        recorder: Persists task transitions.
        sweep_interval_s: How often expired reviews are looked for.
    """

    def __init__(self, recorder: TaskRecorder, sweep_interval_s: float = 30.0) -> None:
        self._recorder = recorder
        self._interval = sweep_interval_s
        self._sweeper: asyncio.Task[None] | None = None

    async def list(self, tenant: str, state: ReviewState | None, limit: int, after: str) -> list[Review]:
        """The tenant's reviews (PENDING when state is None... callers pass it explicitly)."""
        return await self._recorder.store.list_reviews(tenant, state, limit, after)

    async def resolve(
        self, principal: Principal, review_id: str, decision: ReviewDecision, edited_answer: str, comment: str
    ) -> tuple[Review, Task]:
        """Apply a reviewer's decision.

        Raises:
            PermissionDeniedError: The caller is not a reviewer.
            NotFoundError: No such review in the caller's tenant.
            InvalidArgumentError: EDIT without an edited answer.
            FailedPreconditionError: The review is no longer pending (resolved or expired).
        """
        if not principal.has_role(REVIEWER_ROLE):
            raise PermissionDeniedError(f"{principal.name!r} is not a reviewer", reason="REVIEWER_ROLE_REQUIRED")
        if decision is ReviewDecision.EDIT and not edited_answer.strip():
            raise InvalidArgumentError("an EDIT decision needs edited_answer", reason="EDITED_ANSWER_REQUIRED")
        store = self._recorder.store
        review = await store.get_review(principal.tenant, review_id)
        if review is None:
            raise NotFoundError(f"review {review_id!r} not found", reason="REVIEW_NOT_FOUND")
        if review.state is not ReviewState.PENDING:
            raise FailedPreconditionError(
                f"review {review_id} is already {review.state.value}", reason="REVIEW_NOT_PENDING"
            )
        now = utcnow()
        if review.expires_at <= now:
            await self._expire(review)
            raise FailedPreconditionError(
                f"review {review_id} expired at {review.expires_at.isoformat()}", reason="REVIEW_EXPIRED"
            )
        task = await store.get_task(principal.tenant, review.task_id)
        if task is None or task.state is not TaskState.NEEDS_REVIEW:
            raise FailedPreconditionError(
                f"task {review.task_id} is no longer waiting for review", reason="TASK_NOT_IN_REVIEW"
            )
        final = {
            ReviewDecision.APPROVE: review.proposed_answer,
            ReviewDecision.EDIT: edited_answer,
            ReviewDecision.REJECT: "",
        }[decision]
        state = {
            ReviewDecision.APPROVE: ReviewState.APPROVED,
            ReviewDecision.EDIT: ReviewState.EDITED,
            ReviewDecision.REJECT: ReviewState.REJECTED,
        }[decision]
        resolved = replace(
            review, state=state, resolved_at=now, reviewer=principal.name, comment=comment, final_answer=final
        )
        if decision is ReviewDecision.REJECT:
            updated = task.evolve(
                state=TaskState.REJECTED,
                completed_at=now,
                error=f"rejected by reviewer {principal.name}: {comment}".strip(": "),
            )
        else:
            assert task.result is not None
            result = replace(task.result, answer=final, reviewed=True)
            updated = task.evolve(state=TaskState.COMPLETED, completed_at=now, result=result)
        details = {
            "review_id": review_id,
            "decision": decision.value,
            "reviewer": principal.name,
            "comment": comment,
            "edited": decision is ReviewDecision.EDIT,
            "final_answer_chars": len(final),
        }
        try:
            await self._recorder.record(
                updated,
                event=EventType.REVIEW_RESOLVED,
                message=f"{decision.value.lower()} by {principal.name}",
                audit=[self._recorder.draft(updated, "review.resolved", principal.name, details)],
                expect_state=TaskState.NEEDS_REVIEW,
                review=resolved,
                expect_review_state=ReviewState.PENDING,
            )
        except StoreConflictError:
            raise FailedPreconditionError(
                f"review {review_id} was resolved concurrently", reason="REVIEW_NOT_PENDING"
            ) from None
        if self._recorder.metrics is not None:
            self._recorder.metrics.review_resolved(decision.value, (now - review.created_at).total_seconds())
        return resolved, updated

    async def _expire(self, review: Review) -> None:
        store = self._recorder.store
        task = await store.get_task(review.tenant, review.task_id)
        if task is None:
            return
        expired = replace(review, state=ReviewState.EXPIRED, resolved_at=utcnow(), reviewer="system")
        failed = task.evolve(
            state=TaskState.FAILED, completed_at=utcnow(), error="review expired before a reviewer decided"
        )
        with contextlib.suppress(StoreConflictError):
            await self._recorder.record(
                failed,
                event=EventType.FAILED,
                message="review expired",
                audit=[self._recorder.draft(failed, "review.expired", "controller", {"review_id": review.review_id})],
                expect_state=TaskState.NEEDS_REVIEW,
                review=expired,
                expect_review_state=ReviewState.PENDING,
            )
            if self._recorder.metrics is not None:
                age_s = (expired.resolved_at or utcnow()) - review.created_at
                self._recorder.metrics.review_resolved("expired", age_s.total_seconds())

    async def pending_stats(self) -> tuple[int, float]:
        """(PENDING reviews of every tenant, age in seconds of the oldest; 0 when none), for metrics."""
        pending, oldest = await self._recorder.store.pending_reviews()
        return pending, 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())

    async def sweep(self) -> int:
        """Expire every overdue review now; return how many."""
        overdue = await self._recorder.store.expired_reviews(utcnow(), 500)
        for review in overdue:
            await self._expire(review)
        return len(overdue)

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("review sweep failed")
            await asyncio.sleep(self._interval)  # periodic housekeeping, not synchronisation

    def start(self) -> None:
        """Start the periodic expiry sweep."""
        self._sweeper = asyncio.create_task(self._loop(), name="review-sweeper")

    async def aclose(self) -> None:
        """Stop the sweep."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

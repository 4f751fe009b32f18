"""Every state change of a task, recorded the same way: store, events, audit — one transaction.

Layer: controller domain. `TaskRecorder.record` persists the task's new state with
its next event and its audit records atomically, then publishes the event to live
subscribers. Nothing else writes task state, so the event stream, the task table
and the audit trail can never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from controller.audit import AuditDraft
from controller.events import EventBus
from controller.metrics import ControllerMetrics
from controller.models import EventType, Review, ReviewState, Task, TaskEvent, TaskState, utcnow
from controller.store.base import Store

__all__ = ["TaskRecorder"]

log = logging.getLogger(__name__)


class TaskRecorder:
    """Persists transitions and publishes their events.

    Args:
        store: The controller's store.
        bus: Live event fan-out.
        metrics: Where accepted tasks and their outcomes are counted (None: not counted).
    """

    def __init__(self, store: Store, bus: EventBus, metrics: ControllerMetrics | None = None) -> None:
        self.store = store
        self.bus = bus
        self.metrics = metrics
        self._sequences: dict[str, int] = {}
        # Text as the retention policy stores it, when it differs from the working copy.
        self._stored_text: dict[str, str] = {}
        # Announced events and audit drafts not yet persisted (they ride on the next write).
        self._pending: dict[str, tuple[list[TaskEvent], list[AuditDraft]]] = {}

    async def _next_sequence(self, task: Task) -> int:
        seq = self._sequences.get(task.task_id)
        if seq is None:
            events = await self.store.task_events(task.tenant, task.task_id)
            seq = events[-1].sequence if events else 0
        self._sequences[task.task_id] = seq + 1
        return seq + 1

    def forget(self, task_id: str) -> None:
        """Drop what is cached about a task that stopped running here."""
        self._sequences.pop(task_id, None)
        self._stored_text.pop(task_id, None)
        self._pending.pop(task_id, None)

    async def announce(
        self,
        task: Task,
        *,
        event: EventType,
        message: str = "",
        payload: dict[str, Any] | None = None,
        audit: Sequence[AuditDraft] = (),
    ) -> None:
        """Publish an event to live subscribers now; persist it (and `audit`) with the task's next write.

        Used for intermediate events (plan, step started, confidence) so a task costs a few
        store writes instead of one per event; the task's state is unchanged by them.
        """
        e = TaskEvent(task.task_id, await self._next_sequence(task), event, utcnow(), message, payload or {})
        events, drafts = self._pending.setdefault(task.task_id, ([], []))
        events.append(e)
        drafts.extend(audit)
        self.bus.publish(e)

    def draft(self, task: Task, action: str, actor: str, details: dict[str, Any]) -> AuditDraft:
        """An audit draft about `task`."""
        return AuditDraft(task.tenant, task.task_id, action, actor, task.trace_id, utcnow(), details)

    async def create(
        self, task: Task, *, stored_text: str, message: str, audit: Sequence[AuditDraft]
    ) -> tuple[Task, bool]:
        """Persist a new task with its RECEIVED event (or return the one with the same idempotency key).

        Args:
            task: The working copy (full text, used to run the task).
            stored_text: The text as the retention policy allows it to be stored.
            message: The RECEIVED event's message.
            audit: Audit drafts written in the same transaction.
        """
        event = TaskEvent(task.task_id, 1, EventType.RECEIVED, utcnow(), message)
        stored, created = await self.store.create_task(replace(task, text=stored_text), events=[event], audit=audit)
        if created:
            if self.metrics is not None:
                self.metrics.submitted()
            self._sequences[task.task_id] = 1
            if stored_text != task.text:
                self._stored_text[task.task_id] = stored_text
            self.bus.publish(event)
        return stored, created

    async def record(
        self,
        task: Task,
        *,
        event: EventType | None,
        message: str = "",
        payload: dict[str, Any] | None = None,
        audit: Sequence[AuditDraft] = (),
        expect_state: TaskState | None = None,
        review: Review | None = None,
        expect_review_state: ReviewState | None = None,
    ) -> Task:
        """Persist `task` (its new state) with one event and its audit drafts; publish the event.

        Raises:
            StoreConflictError: A compare-and-set precondition failed; nothing was written.
        """
        stored_text = self._stored_text.get(task.task_id)
        if stored_text is not None:
            task = replace(task, text=stored_text)
            if review is not None:
                review = replace(review, task_text=stored_text)
        pending_events, pending_audit = self._pending.pop(task.task_id, ([], []))
        events: list[TaskEvent] = []
        if event is not None:
            events.append(
                TaskEvent(task.task_id, await self._next_sequence(task), event, utcnow(), message, payload or {})
            )
        try:
            await self.store.save_task(
                task,
                expect_state=expect_state,
                events=[*pending_events, *events],
                audit=[*pending_audit, *audit],
                review=review,
                expect_review_state=expect_review_state,
            )
        except BaseException:
            if events or pending_events:  # the sequences were not used; re-read them next time
                self._sequences.pop(task.task_id, None)
            raise
        for e in events:
            self.bus.publish(e)
        if task.state.settled and expect_state is not None and not expect_state.settled:
            # The outcome of a run (or of a cancel before one); a reviewer's later decision is not a second one.
            log.debug("task %s: %s", task.task_id, task.state.value)  # carries the trace id (JSON logs)
            if self.metrics is not None:
                route = task.plan.route.value if task.plan is not None else ""
                self.metrics.settled(route, task.state.value, (utcnow() - task.created_at).total_seconds())
        return task

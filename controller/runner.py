"""The task runner: a bounded queue of accepted tasks and the workers that run them.

Layer: controller domain. A task is persisted before it is queued (see
`intake.py`); workers take tasks from the queue and drive each through analysis,
execution, confidence and the escalation decision, recording every transition.
On start, tasks left RECEIVED or RUNNING by a crash are resumed, or failed
explicitly when they cannot be (too many attempts, input not retained). No task
is ever dropped silently, and no exception escapes to a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from opentelemetry import context as otel_context

from agentplane import request_context
from agentplane.errors import AgentplaneError, ResourceExhaustedError
from agentplane.request_context import Principal, RequestContext
from agentplane.tracing import Tracing, parent_from_trace_id
from controller.admission import ThroughputMeter
from controller.capabilities import CallInfo
from controller.config import ControllerSettings
from controller.escalation import Decision, Outcome, decide
from controller.metrics import ControllerMetrics
from controller.models import (
    EventType,
    PlanStep,
    Review,
    ReviewState,
    StepResult,
    Task,
    TaskResult,
    TaskState,
    utcnow,
)
from controller.recorder import TaskRecorder
from controller.routing import Router, TaskFacts
from controller.steps import Executor, RouteOutcome, StepHooks
from controller.store.base import StoreConflictError

__all__ = ["TaskRunner"]

log = logging.getLogger(__name__)
ACTOR = "controller"


class TaskRunner:
    """Runs accepted tasks with bounded concurrency.

    Args:
        settings: Controller settings.
        recorder: Persists transitions.
        router: Plans tasks.
        executor: Executes plans.
        metrics: Queue waits, confidence and escalations (None: not counted).
        tracing: Each task's execution continues the trace of the call that submitted it.
    """

    def __init__(
        self,
        settings: ControllerSettings,
        recorder: TaskRecorder,
        router: Router,
        executor: Executor,
        *,
        metrics: ControllerMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._tracing = tracing or Tracing.off()
        # Per queued task: when it was queued (metrics) and the submitting call's trace context.
        self._queued_at: dict[str, float] = {}
        self._trace_parents: dict[str, otel_context.Context] = {}
        self._recorder = recorder
        self._router = router
        self._executor = executor
        self._queue: asyncio.Queue[Task] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._reserved = 0
        self._meter = ThroughputMeter()

    @property
    def backlog(self) -> int:
        """Tasks accepted and not yet finished running (queued + running + reserved)."""
        return self._queue.qsize() + len(self._running) + self._reserved

    def queue_depth(self) -> int:
        """Tasks queued, not yet taken by a worker."""
        return self._queue.qsize()

    def running(self) -> int:
        """Tasks being worked on now."""
        return len(self._running)

    def reserve(self, wait_budget_s: float | None = None) -> None:
        """Claim queue room for one task about to be persisted.

        Args:
            wait_budget_s: How long the caller can wait for the outcome (what is left of
                its deadline); None = no deadline.

        Raises:
            ResourceExhaustedError: The queue is full, or the task would wait longer than
                `wait_budget_s` (shed at once, nothing persisted).
        """
        limit = self._settings.max_queued_tasks + self._settings.max_running_tasks
        if self.backlog >= limit:
            raise ResourceExhaustedError(
                f"the controller has {self.backlog} tasks accepted and unfinished (limit {limit}); retry later",
                reason="TASK_QUEUE_FULL",
                metadata={"subject": "controller:queue", "limit": str(limit)},
                retry_after_s=1.0,
            )
        ahead = self.backlog
        rate = self._meter.rate()
        # Below a few dozen tasks the rate measures demand, not capacity: never refuse on it there.
        if self._settings.deadline_aware_admission and wait_budget_s is not None and ahead >= 32 and rate:
            expected_s = (ahead + 1) / rate
            if expected_s > 0.8 * wait_budget_s:
                raise ResourceExhaustedError(
                    f"{ahead} tasks are queued ahead (about {expected_s:.1f}s at {rate:.0f} tasks/s); "
                    f"the call's deadline leaves {max(wait_budget_s, 0):.1f}s: retry later or with a longer deadline",
                    reason="WOULD_MISS_DEADLINE",
                    metadata={"subject": "controller:queue", "queued": str(ahead)},
                    retry_after_s=round(expected_s - max(wait_budget_s, 0), 3),
                )
        self._reserved += 1

    def enqueue(self, task: Task, *, reserved: bool = True) -> None:
        """Queue a persisted task (its reservation, if any, turns into the queue slot)."""
        if reserved:
            self._reserved -= 1
        if self._metrics is not None:
            self._queued_at[task.task_id] = time.monotonic()
        parent = self._tracing.capture()
        if parent is not None:
            self._trace_parents[task.task_id] = parent
        self._queue.put_nowait(task)

    def release(self) -> None:
        """Give back a reservation that was not used (the task already existed)."""
        self._reserved -= 1

    async def start(self) -> None:
        """Recover unfinished tasks, then start the workers."""
        await self._recover()
        self._workers = [
            asyncio.create_task(self._worker(), name=f"task-worker-{i}")
            for i in range(self._settings.max_running_tasks)
        ]

    async def aclose(self, grace_s: float = 5.0) -> None:
        """Stop the workers; running tasks get `grace_s` to finish, then stay RUNNING to be resumed."""
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=grace_s)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []

    async def _recover(self) -> None:
        store = self._recorder.store
        for task in await store.unfinished_tasks():
            if task.attempts >= self._settings.max_task_attempts:
                await self._fail(
                    task, f"gave up after {task.attempts} attempts (controller restarts)", expect=task.state
                )
            elif not task.text_retained:
                await self._fail(
                    task, "interrupted, and its input was not retained (policy): please resubmit", expect=task.state
                )
            else:
                draft = self._recorder.draft(
                    task, "task.resumed", ACTOR, {"attempt": task.attempts + 1, "state": task.state}
                )
                await store.append_audit([draft])
                self.enqueue(task, reserved=False)
                log.info("resuming task %s (attempt %d)", task.task_id, task.attempts + 1)

    def cancel_running(self, task_id: str) -> bool:
        """Cancel the in-process execution of a task, if it runs here."""
        running = self._running.get(task_id)
        if running is None:
            return False
        running.cancel()
        return True

    async def _worker(self) -> None:
        while True:
            task = await self._queue.get()
            queued_at = self._queued_at.pop(task.task_id, None)
            if self._metrics is not None and queued_at is not None:
                self._metrics.queue_wait(time.monotonic() - queued_at)
            execution = asyncio.create_task(self._run_guarded(task))
            self._running[task.task_id] = execution
            try:
                await asyncio.shield(execution)
            except asyncio.CancelledError:
                if not execution.done():
                    raise  # the worker itself was cancelled (shutdown)
            finally:
                self._running.pop(task.task_id, None)
                self._recorder.forget(task.task_id)
                self._meter.record()

    async def _run_guarded(self, task: Task) -> None:
        ctx = RequestContext(
            request_id=request_context.new_id(),
            trace_id=task.trace_id,
            principal=Principal(task.submitted_by or ACTOR, task.tenant),
            method="TaskRunner.run",
        )
        parent = None
        if self._tracing.enabled:  # resumed after a restart: continue the task's trace under a remote parent
            parent = self._trace_parents.pop(task.task_id, None) or parent_from_trace_id(task.trace_id)
        with request_context.use(ctx), self._tracing.span("controller.task", parent=parent):
            try:
                async with asyncio.timeout(self._settings.task_timeout_s):
                    with request_context.deadline_scope(self._settings.task_timeout_s):
                        await self._run(task)
            except TimeoutError:
                await self._fail_current(task, f"timed out after {self._settings.task_timeout_s:.0f}s")
            except asyncio.CancelledError:
                current = await self._recorder.store.get_task(task.tenant, task.task_id)
                if current is not None and current.state is TaskState.CANCELLED:
                    return  # CancelTask already recorded it
                raise
            except StoreConflictError:
                log.info("task %s changed concurrently (cancelled?); stopping", task.task_id)
            except AgentplaneError as exc:
                await self._fail_current(task, f"{exc.code.name}: {exc.message}")
            except Exception as exc:
                log.exception("task %s failed unexpectedly", task.task_id)
                await self._fail_current(task, f"internal error: {type(exc).__name__}")

    async def _run(self, task: Task) -> None:
        rec = self._recorder
        policy = self._settings.policy.for_tenant(task.tenant)
        running = task.evolve(state=TaskState.RUNNING, attempts=task.attempts + 1, error="")
        await rec.record(running, event=None, expect_state=task.state)
        facts = TaskFacts(
            text=task.text,
            task_type=task.task_type,
            urls=task.request.urls,
            has_schema=task.request.schema is not None,
            domain_model=self._settings.domain_model,
            llm_model=self._settings.llm.model,
        )
        plan = await self._router.plan(facts, policy)
        running = running.evolve(plan=plan)
        await rec.announce(
            running,
            event=EventType.ANALYSED,
            message=plan.rationale,
            payload={"plan": plan.to_dict()},
            audit=[rec.draft(running, "task.analysed", ACTOR, plan.to_dict())],
        )
        history = await rec.store.session_tasks(task.tenant, task.session_id, 20) if task.session_id else []
        history = [t for t in history if t.task_id != task.task_id]
        outcome = await self._executor.run(running, plan, history, self._hooks(running))
        await self._settle(running, outcome)

    def _hooks(self, task: Task) -> StepHooks:
        rec = self._recorder

        async def started(step: PlanStep) -> None:
            await rec.announce(
                task,
                event=EventType.STEP_STARTED,
                message=f"{step.step_id} {step.capability.value} {step.target}",
                payload={"step": step.to_dict()},
            )

        async def done(result: StepResult, calls: list[CallInfo]) -> None:
            audit = [
                rec.draft(
                    task,
                    "downstream.call",
                    ACTOR,
                    {
                        "step_id": result.step_id,
                        "service": c.service,
                        "method": c.method,
                        "latency_ms": c.latency_ms,
                        "attempts": c.attempts,
                        "outcome": c.outcome,
                        "detail": c.detail,
                    },
                )
                for c in calls
            ]
            await rec.record(
                task,
                event=EventType.STEP_DONE,
                message=f"{result.step_id} {result.status.value}",
                payload={"step": result.to_dict()},
                audit=audit,
                expect_state=TaskState.RUNNING,
            )

        return StepHooks(started, done)

    async def _settle(self, task: Task, outcome: RouteOutcome) -> None:
        rec = self._recorder
        assert task.plan is not None
        policy = self._settings.policy.for_tenant(task.tenant)
        decision = decide(
            plan=task.plan,
            confidence=outcome.confidence,
            policy=policy,
            task_type=task.task_type,
            missing_inputs=outcome.missing_inputs,
            missing_fields=outcome.missing_fields,
            source=outcome.missing_source,
        )
        result = TaskResult(
            answer=outcome.answer,
            route=task.plan.route,
            confidence=outcome.confidence,
            steps=tuple(outcome.steps),
            data=outcome.data,
            degradations=tuple(outcome.degradations),
            sources=tuple(outcome.sources),
            usage=outcome.usage,
        )
        if self._metrics is not None:
            self._metrics.confidence(task.plan.route.value, outcome.confidence.score)
        scored = task.evolve(result=result, confidence_threshold=decision.threshold)
        await rec.announce(
            scored,
            event=EventType.CONFIDENCE,
            message=outcome.confidence.rationale,
            payload={"confidence": outcome.confidence.to_dict()},
            audit=[
                rec.draft(
                    scored, "task.confidence", ACTOR, {**outcome.confidence.to_dict(), "threshold": decision.threshold}
                )
            ],
        )
        await self._apply(scored, decision, policy.review_ttl_s)

    async def _apply(self, task: Task, decision: Decision, default_ttl_s: float) -> None:
        rec = self._recorder
        now = utcnow()
        details = {"outcome": decision.outcome.value, "reason": decision.reason, "threshold": decision.threshold}
        if decision.outcome is Outcome.ANSWER:
            done = task.evolve(state=TaskState.COMPLETED, completed_at=now)
            answer = task.result.answer if task.result else ""
            await rec.record(
                done,
                event=EventType.COMPLETED,
                message=decision.reason,
                audit=[rec.draft(done, "task.completed", ACTOR, {**details, "answer_chars": len(answer)})],
                expect_state=TaskState.RUNNING,
            )
        elif decision.outcome is Outcome.CLARIFY:
            assert decision.clarification is not None
            if self._metrics is not None:
                self._metrics.clarified(decision.code)
            asked = task.evolve(
                state=TaskState.NEEDS_CLARIFICATION,
                clarification=decision.clarification,
                escalation_reason=decision.reason,
            )
            await rec.record(
                asked,
                event=EventType.CLARIFICATION_NEEDED,
                message=decision.clarification.question,
                audit=[rec.draft(asked, "task.clarification", ACTOR, {**details, **decision.clarification.to_dict()})],
                expect_state=TaskState.RUNNING,
            )
        else:
            if self._metrics is not None:
                self._metrics.escalated(decision.code)
            typed = self._settings.policy.for_tenant(task.tenant).task_types.get(task.task_type)
            ttl = typed.review_ttl_s if typed and typed.review_ttl_s else default_ttl_s
            review = Review(
                review_id=f"rev_{request_context.new_id()[:20]}",
                task_id=task.task_id,
                tenant=task.tenant,
                state=ReviewState.PENDING,
                reason=decision.reason,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
                task_type=task.task_type,
                task_text=task.text,
                proposed_answer=task.result.answer if task.result else "",
                route=task.plan.route if task.plan else None,
                confidence=task.result.confidence if task.result else None,
            )
            escalated = task.evolve(
                state=TaskState.NEEDS_REVIEW, review_id=review.review_id, escalation_reason=decision.reason
            )
            await rec.record(
                escalated,
                event=EventType.ESCALATED,
                message=decision.reason,
                audit=[
                    rec.draft(
                        escalated,
                        "task.escalated",
                        ACTOR,
                        {**details, "review_id": review.review_id, "expires_at": review.expires_at.isoformat()},
                    )
                ],
                expect_state=TaskState.RUNNING,
                review=review,
            )

    async def _fail(self, task: Task, error: str, *, expect: TaskState | None) -> None:
        failed = task.evolve(state=TaskState.FAILED, error=error, completed_at=utcnow())
        await self._recorder.record(
            failed,
            event=EventType.FAILED,
            message=error,
            audit=[self._recorder.draft(failed, "task.failed", ACTOR, {"error": error})],
            expect_state=expect,
        )

    async def _fail_current(self, task: Task, error: str) -> None:
        current = await self._recorder.store.get_task(task.tenant, task.task_id)
        if current is None or current.state.settled:
            return
        try:
            await self._fail(current, error, expect=current.state)
        except StoreConflictError:
            log.info("task %s settled while failing it", task.task_id)

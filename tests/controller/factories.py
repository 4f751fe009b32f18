"""Builders of controller domain objects for store tests (every field set to a non-default value)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from controller.audit import AuditDraft
from controller.models import (
    Capability,
    Clarification,
    Component,
    Confidence,
    Degradation,
    EventType,
    Plan,
    PlanStep,
    Review,
    ReviewState,
    Route,
    RouteScore,
    StepResult,
    StepStatus,
    Task,
    TaskEvent,
    TaskRequest,
    TaskResult,
    TaskState,
    UsageTotals,
)

T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def task(tenant: str = "acme", *, at: datetime = T0, **changes: Any) -> Task:
    """A minimal RECEIVED task created at `at`."""
    fields: dict[str, Any] = {
        "task_id": new_id(),
        "tenant": tenant,
        "text": "what is the status of order 42?",
        "state": TaskState.RECEIVED,
        "created_at": at,
        "updated_at": at,
    }
    fields.update(changes)
    return Task(**fields)


def full_task(tenant: str = "acme") -> Task:
    """A task with every field, nested plan/result/clarification included, set to a non-default value."""
    confidence = Confidence(
        0.75, (Component("llm", 0.9, 2.0, "self-rated"), Component("domain", 0.8)), "fine", "weighted"
    )
    degradation = Degradation("realtime", "served a stale snapshot", 0.8)
    plan = Plan(
        route=Route.AGENT,
        steps=(
            PlanStep("fetch", Capability.REALTIME_FETCH, "https://example.test/a", (), "get the page"),
            PlanStep("answer", Capability.LLM_COMPLETE, "small", ("fetch",), "answer from the page"),
        ),
        candidates=(RouteScore(Route.AGENT, 0.8, "needs fresh data"), RouteScore(Route.LLM, 0.3)),
        rules_fired=("has_url", "multi_step"),
        rationale="fresh data, then a summary",
        ambiguous=True,
    )
    result = TaskResult(
        answer="Order 42 shipped — ✓ 日本",
        route=Route.AGENT,
        confidence=confidence,
        steps=(
            StepResult(
                "fetch",
                Capability.REALTIME_FETCH,
                StepStatus.DEGRADED,
                "https://example.test/a",
                "fetched",
                None,
                12.5,
                2,
                "timeout once",
                (degradation,),
            ),
            StepResult(
                "answer", Capability.LLM_COMPLETE, StepStatus.SUCCEEDED, "small", "answered", confidence, 80.25, 1
            ),
        ),
        data={"order": 42, "items": [1, 2.5, {"sku": "é", "gone": None}], "ok": True},
        degradations=(degradation,),
        sources=("https://example.test/a",),
        usage=UsageTotals(120, 45, 0.00125, 2),
        reviewed=True,
    )
    return Task(
        task_id=new_id(),
        tenant=tenant,
        text="Où est ma commande 42 ? ✓",
        state=TaskState.NEEDS_CLARIFICATION,
        created_at=T0,
        updated_at=T0 + timedelta(seconds=3, microseconds=1),
        task_type="order_status",
        session_id="session-1",
        idempotency_key="key-" + new_id(),
        sensitivity="CONFIDENTIAL",
        request=TaskRequest(("https://example.test/a",), {"type": "object", "required": ["x"]}, {"channel": "mail"}),
        text_retained=False,
        submitted_by="alice",
        plan=plan,
        result=result,
        clarification=Clarification("Which order?", ("42", "43"), "two orders match"),
        review_id="review-1",
        error="none yet",
        trace_id="trace-1",
        # A non-UTC offset: the store must keep the instant and hand it back in UTC.
        completed_at=datetime(2025, 3, 4, 7, 6, 9, 999999, tzinfo=timezone(timedelta(hours=2))),
        attempts=3,
        escalation_reason="low confidence",
        confidence_threshold=0.7,
    )


def event(t: Task, sequence: int, kind: EventType = EventType.RECEIVED, **payload: Any) -> TaskEvent:
    return TaskEvent(
        t.task_id, sequence, kind, T0 + timedelta(milliseconds=sequence), f"event {sequence}", dict(payload)
    )


def draft(t: Task | None = None, action: str = "task.created", *, tenant: str = "", **details: Any) -> AuditDraft:
    return AuditDraft(
        tenant=tenant or (t.tenant if t else "acme"),
        task_id=t.task_id if t else "",
        action=action,
        actor="user:alice",
        trace_id="trace-1",
        at=T0 + timedelta(microseconds=len(details) + 7),
        details=dict(details),
    )


def review(
    t: Task, *, state: ReviewState = ReviewState.PENDING, expires_at: datetime | None = None, **changes: Any
) -> Review:
    fields: dict[str, Any] = {
        "review_id": new_id(),
        "task_id": t.task_id,
        "tenant": t.tenant,
        "state": state,
        "reason": "confidence 0.42 below 0.7",
        "created_at": T0,
        "expires_at": expires_at or T0 + timedelta(hours=1),
        "task_type": "order_status",
        "task_text": t.text,
        "proposed_answer": "shipped",
        "route": Route.LLM,
        "confidence": Confidence(0.42, (Component("llm", 0.42),), "unsure"),
        "resolved_at": None,
        "reviewer": "",
        "comment": "",
        "final_answer": "",
    }
    fields.update(changes)
    return Review(**fields)

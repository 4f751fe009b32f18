"""The controller's domain objects: tasks, plans, steps, confidence, reviews, audit events.

Layer: controller domain. Plain dataclasses with JSON round-trips (`to_dict` /
`from_dict`) so that the store can persist them and `service.py` can translate them
to protobuf; nothing here imports grpc or generated code.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "AuditEvent",
    "Capability",
    "Clarification",
    "Component",
    "Confidence",
    "Degradation",
    "EventType",
    "Plan",
    "PlanStep",
    "Review",
    "ReviewDecision",
    "ReviewState",
    "Route",
    "RouteScore",
    "StepResult",
    "StepStatus",
    "Task",
    "TaskEvent",
    "TaskRequest",
    "TaskResult",
    "TaskState",
    "UsageTotals",
    "utcnow",
]


def utcnow() -> datetime:
    """Timezone-aware UTC now."""
    return datetime.now(UTC)


class TaskState(enum.StrEnum):
    """Lifecycle of a task; the names match the proto enum without its prefix."""

    RECEIVED = "RECEIVED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    NEEDS_CLARIFICATION = "NEEDS_CLARIFICATION"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def terminal(self) -> bool:
        """No further transition happens without a human (or ever)."""
        return self in _TERMINAL

    @property
    def settled(self) -> bool:
        """The task reached an outcome the submitter can act on (terminal or escalated)."""
        return self in _SETTLED


_TERMINAL = frozenset({TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED, TaskState.REJECTED})
_SETTLED = _TERMINAL | {TaskState.NEEDS_REVIEW, TaskState.NEEDS_CLARIFICATION}


class Route(enum.StrEnum):
    """Where a task is answered."""

    DOMAIN = "DOMAIN"
    LLM = "LLM"
    REALTIME = "REALTIME"
    REALTIME_LLM = "REALTIME_LLM"
    AGENT = "AGENT"
    EXTERNAL_TOOL = "EXTERNAL_TOOL"


class Capability(enum.StrEnum):
    """What one plan step calls."""

    DOMAIN_CLASSIFY = "DOMAIN_CLASSIFY"
    LLM_COMPLETE = "LLM_COMPLETE"
    REALTIME_FETCH = "REALTIME_FETCH"
    REALTIME_EXTRACT = "REALTIME_EXTRACT"
    EXTERNAL_TOOL = "EXTERNAL_TOOL"


class StepStatus(enum.StrEnum):
    """Outcome of one step."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    DEGRADED = "DEGRADED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class ReviewState(enum.StrEnum):
    """Where a review stands."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EDITED = "EDITED"
    EXPIRED = "EXPIRED"


class ReviewDecision(enum.StrEnum):
    """What a reviewer decided."""

    APPROVE = "APPROVE"
    REJECT = "REJECT"
    EDIT = "EDIT"


class EventType(enum.StrEnum):
    """Task events streamed by StreamTask."""

    RECEIVED = "RECEIVED"
    ANALYSED = "ANALYSED"
    STEP_STARTED = "STEP_STARTED"
    STEP_DONE = "STEP_DONE"
    CONFIDENCE = "CONFIDENCE"
    ESCALATED = "ESCALATED"
    CLARIFICATION_NEEDED = "CLARIFICATION_NEEDED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REVIEW_RESOLVED = "REVIEW_RESOLVED"


class _Json:
    """JSON round-trip for the dataclasses below (enums as their values)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class Component(_Json):
    """One named input of a confidence score."""

    name: str
    value: float
    weight: float = 1.0
    detail: str = ""


@dataclass(frozen=True)
class Confidence(_Json):
    """A score in [0, 1], its components and a rationale."""

    score: float
    components: tuple[Component, ...] = ()
    rationale: str = ""
    method: str = "product"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Confidence:
        """Inverse of to_dict."""
        return cls(
            score=d["score"],
            components=tuple(Component(**c) for c in d.get("components", ())),
            rationale=d.get("rationale", ""),
            method=d.get("method", "product"),
        )


@dataclass(frozen=True)
class Degradation(_Json):
    """A component that answered on a degraded path, and the penalty it cost."""

    component: str
    reason: str
    penalty: float = 1.0


@dataclass(frozen=True)
class UsageTotals(_Json):
    """Tokens and money spent on a task."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    upstream_calls: int = 0

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return UsageTotals(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cost_usd + other.cost_usd,
            self.upstream_calls + other.upstream_calls,
        )


@dataclass(frozen=True)
class RouteScore(_Json):
    """How well one route fits a task."""

    route: Route
    score: float
    reason: str = ""


@dataclass(frozen=True)
class PlanStep(_Json):
    """One call the plan makes."""

    step_id: str
    capability: Capability
    target: str = ""
    depends_on: tuple[str, ...] = ()
    purpose: str = ""


@dataclass(frozen=True)
class Plan(_Json):
    """The route chosen for a task, its steps, and why."""

    route: Route
    steps: tuple[PlanStep, ...]
    candidates: tuple[RouteScore, ...] = ()
    rules_fired: tuple[str, ...] = ()
    rationale: str = ""
    ambiguous: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        """Inverse of to_dict."""
        return cls(
            route=Route(d["route"]),
            steps=tuple(
                PlanStep(
                    step_id=s["step_id"],
                    capability=Capability(s["capability"]),
                    target=s.get("target", ""),
                    depends_on=tuple(s.get("depends_on", ())),
                    purpose=s.get("purpose", ""),
                )
                for s in d["steps"]
            ),
            candidates=tuple(RouteScore(Route(c["route"]), c["score"], c.get("reason", "")) for c in d["candidates"]),
            rules_fired=tuple(d.get("rules_fired", ())),
            rationale=d.get("rationale", ""),
            ambiguous=d.get("ambiguous", False),
        )


@dataclass(frozen=True)
class StepResult(_Json):
    """What one step produced."""

    step_id: str
    capability: Capability
    status: StepStatus
    target: str = ""
    summary: str = ""
    confidence: Confidence | None = None
    latency_ms: float = 0.0
    attempts: int = 0
    error: str = ""
    degradations: tuple[Degradation, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepResult:
        """Inverse of to_dict."""
        return cls(
            step_id=d["step_id"],
            capability=Capability(d["capability"]),
            status=StepStatus(d["status"]),
            target=d.get("target", ""),
            summary=d.get("summary", ""),
            confidence=Confidence.from_dict(d["confidence"]) if d.get("confidence") else None,
            latency_ms=d.get("latency_ms", 0.0),
            attempts=d.get("attempts", 0),
            error=d.get("error", ""),
            degradations=tuple(Degradation(**x) for x in d.get("degradations", ())),
        )


@dataclass(frozen=True)
class TaskResult(_Json):
    """The answer to a task and everything needed to explain it."""

    answer: str
    route: Route
    confidence: Confidence
    steps: tuple[StepResult, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    degradations: tuple[Degradation, ...] = ()
    sources: tuple[str, ...] = ()
    usage: UsageTotals = UsageTotals()
    reviewed: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskResult:
        """Inverse of to_dict."""
        return cls(
            answer=d["answer"],
            route=Route(d["route"]),
            confidence=Confidence.from_dict(d["confidence"]),
            steps=tuple(StepResult.from_dict(s) for s in d.get("steps", ())),
            data=d.get("data", {}),
            degradations=tuple(Degradation(**x) for x in d.get("degradations", ())),
            sources=tuple(d.get("sources", ())),
            usage=UsageTotals(**d.get("usage", {})),
            reviewed=d.get("reviewed", False),
        )


@dataclass(frozen=True)
class Clarification(_Json):
    """A specific question back to the submitter."""

    question: str
    options: tuple[str, ...] = ()
    reason: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Clarification:
        """Inverse of to_dict."""
        return cls(d["question"], tuple(d.get("options", ())), d.get("reason", ""))


@dataclass(frozen=True)
class TaskRequest(_Json):
    """What was submitted (besides text), as stored for resumption."""

    urls: tuple[str, ...] = ()
    schema: dict[str, Any] | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskRequest:
        """Inverse of to_dict."""
        return cls(tuple(d.get("urls", ())), d.get("schema"), dict(d.get("metadata", {})))


@dataclass(frozen=True)
class Task:
    """A task and its whole state, as persisted."""

    task_id: str
    tenant: str
    text: str
    state: TaskState
    created_at: datetime
    updated_at: datetime
    task_type: str = ""
    session_id: str = ""
    idempotency_key: str = ""
    sensitivity: str = "INTERNAL"
    request: TaskRequest = TaskRequest()
    # False when policy kept only a redacted copy or a hash: the task cannot be re-run.
    text_retained: bool = True
    submitted_by: str = ""
    plan: Plan | None = None
    result: TaskResult | None = None
    clarification: Clarification | None = None
    review_id: str = ""
    error: str = ""
    trace_id: str = ""
    completed_at: datetime | None = None
    attempts: int = 0
    escalation_reason: str = ""
    confidence_threshold: float = 0.0

    def evolve(self, **changes: Any) -> Task:
        """A copy with `changes` and a fresh updated_at."""
        return replace(self, updated_at=utcnow(), **changes)


@dataclass(frozen=True)
class TaskEvent:
    """One event in a task's life (StreamTask)."""

    task_id: str
    sequence: int
    type: EventType
    at: datetime
    message: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Review:
    """A human review of an escalated task."""

    review_id: str
    task_id: str
    tenant: str
    state: ReviewState
    reason: str
    created_at: datetime
    expires_at: datetime
    task_type: str = ""
    task_text: str = ""
    proposed_answer: str = ""
    route: Route | None = None
    confidence: Confidence | None = None
    resolved_at: datetime | None = None
    reviewer: str = ""
    comment: str = ""
    final_answer: str = ""


@dataclass(frozen=True)
class AuditEvent:
    """One append-only, hash-chained audit record of a tenant."""

    tenant: str
    sequence: int
    task_id: str
    action: str
    actor: str
    trace_id: str
    at: datetime
    details_json: str
    prev_hash: str
    hash: str

"""What the console's pages show, built from controller messages.

Layer: console presentation (no HTTP): plain dataclasses and functions that turn
agentplane.v1 messages into what templates render. Nothing here escapes text: the
templates do, always (autoescape), so every string from a task, a page or an
answer reaches the browser as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format

from agentplane.v1 import common_pb2, controller_pb2

__all__ = [
    "AuditEntry",
    "Bar",
    "DomainEvidence",
    "PageEvidence",
    "QueueRow",
    "ReviewView",
    "StepView",
    "audit_entries",
    "confidence_bars",
    "duration",
    "queue_rows",
    "reason_kind",
    "review_view",
]

C = controller_pb2
SENSITIVE = frozenset({common_pb2.SENSITIVITY_CONFIDENTIAL, common_pb2.SENSITIVITY_RESTRICTED})


def _when(ts: Any) -> datetime | None:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]


def duration(seconds: float) -> str:
    """A short human duration: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86_400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86_400} d {s % 86_400 // 3600} h"


def reason_kind(reason: str) -> str:
    """The kind of an escalation reason: "low_confidence (0.61 < 0.85)" -> "low_confidence"."""
    return reason.split(" (", 1)[0].strip()


def _enum(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


@dataclass(frozen=True)
class QueueRow:
    """One pending review in the queue table."""

    review_id: str
    task_id: str
    task_type: str
    reason: str
    reason_kind: str
    route: str
    score: float | None
    excerpt: str
    created_at: datetime | None
    age: str
    expires_at: datetime | None
    expires_in: str
    expiring_soon: bool


def queue_rows(reviews: list[controller_pb2.Review], now: datetime) -> list[QueueRow]:
    """Pending reviews as rows, newest first."""
    rows = []
    for r in reviews:
        created, expires = _when(r.created_at), _when(r.expires_at)
        left = (expires - now).total_seconds() if expires else 0.0
        text = " ".join(r.task_text.split())
        rows.append(
            QueueRow(
                review_id=r.review_id,
                task_id=r.task_id,
                task_type=r.task_type or "(none)",
                reason=r.reason,
                reason_kind=reason_kind(r.reason),
                route=_enum(C.Route, r.route, "ROUTE_") if r.route else "",
                score=r.confidence.score if r.HasField("confidence") else None,
                excerpt=text[:140] + ("…" if len(text) > 140 else ""),
                created_at=created,
                age=duration((now - created).total_seconds()) if created else "",
                expires_at=expires,
                expires_in=duration(left) if left > 0 else "expired",
                expiring_soon=0 < left < 3600,
            )
        )
    rows.sort(key=lambda row: row.created_at or now, reverse=True)
    return rows


@dataclass(frozen=True)
class Bar:
    """One confidence bar, drawn against the threshold."""

    name: str
    value: float
    weight: float
    detail: str
    threshold: float
    overall: bool = False

    @property
    def passes(self) -> bool:
        """At or above the threshold."""
        return self.value >= self.threshold

    @property
    def percent(self) -> float:
        """Value as a percentage of the bar's width (clamped)."""
        return round(min(max(self.value, 0.0), 1.0) * 100, 1)

    @property
    def threshold_percent(self) -> float:
        """The threshold as a percentage of the bar's width."""
        return round(min(max(self.threshold, 0.0), 1.0) * 100, 1)


def confidence_bars(conf: common_pb2.Confidence, threshold: float) -> list[Bar]:
    """The overall score first, then every named component."""
    bars = [Bar("overall score", conf.score, 1.0, conf.rationale, threshold, overall=True)]
    bars += [Bar(c.name, c.value, c.weight, c.detail, threshold) for c in conf.components]
    return bars


@dataclass(frozen=True)
class StepView:
    """One executed step."""

    step_id: str
    capability: str
    status: str
    target: str
    summary: str
    error: str
    latency_ms: float
    attempts: int
    score: float | None
    degradations: tuple[str, ...]


@dataclass(frozen=True)
class PageEvidence:
    """A fetched page behind a real-time answer."""

    url: str
    title: str
    age: str
    from_snapshot: bool
    injection_flagged: bool
    injection_score: float | None
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DomainEvidence:
    """A domain model's classification behind an answer."""

    label: str
    probabilities: tuple[tuple[str, float], ...]
    out_of_domain: bool
    ood_score: float | None
    ood_threshold: float | None
    model: str
    version: str
    card: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ToolCallView:
    """An external tool call waiting for approval (or decided)."""

    server: str
    tool: str
    arguments: str
    arguments_sha256: str
    destructive: bool
    policy_listed: bool


@dataclass(frozen=True)
class ReviewView:
    """Everything the review page shows."""

    review: controller_pb2.Review
    state: str
    task_id: str
    task_type: str
    text: str
    text_redacted: bool
    sensitivity: str
    submitted_by: str
    reason: str
    route: str
    rationale: str
    rules: tuple[str, ...]
    candidates: tuple[tuple[str, float, str], ...]
    plan_steps: tuple[tuple[str, str, str, str], ...]
    proposed_answer: str
    threshold: float
    bars: tuple[Bar, ...]
    steps: tuple[StepView, ...]
    pages: tuple[PageEvidence, ...]
    domain: DomainEvidence | None
    tool_call: ToolCallView | None
    sources: tuple[str, ...]
    created_at: datetime | None
    age: str
    expires_at: datetime | None
    expires_in: str
    resolved_at: datetime | None
    reviewer: str
    comment: str
    final_answer: str


def _steps(result: controller_pb2.TaskResult) -> tuple[StepView, ...]:
    return tuple(
        StepView(
            step_id=s.step_id,
            capability=_enum(C.Capability, s.capability, "CAPABILITY_"),
            status=_enum(C.StepStatus, s.status, "STEP_STATUS_"),
            target=s.target,
            summary=s.summary,
            error=s.error,
            latency_ms=s.latency_ms,
            attempts=s.attempts,
            score=s.confidence.score if s.HasField("confidence") else None,
            degradations=tuple(f"{d.component}: {d.reason}" for d in s.degradations),
        )
        for s in result.steps
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _pages(data: dict[str, Any]) -> tuple[PageEvidence, ...]:
    pages = []
    for p in data.get("pages", []) or []:
        if not isinstance(p, dict):
            continue
        raw_fields = p.get("data")
        fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
        age = _number(p.get("age_s"))
        pages.append(
            PageEvidence(
                url=str(p.get("url", "")),
                title=str(p.get("title", "")),
                age=duration(age) if age is not None else "unknown",
                from_snapshot=bool(p.get("from_snapshot", False)),
                injection_flagged=bool(p.get("injection_flagged", False)),
                injection_score=_number(p.get("injection_score")),
                fields=tuple((str(k), json.dumps(v) if not isinstance(v, str) else v) for k, v in fields.items()),
            )
        )
    return tuple(pages)


def _domain(data: dict[str, Any]) -> DomainEvidence | None:
    probabilities = data.get("probabilities")
    if not isinstance(probabilities, dict) or "label" not in data:
        return None
    raw_card = data.get("model_card")
    card: dict[str, Any] = raw_card if isinstance(raw_card, dict) else {}
    known = [(str(k), float(v)) for k, v in probabilities.items() if _number(v) is not None]
    ranked = sorted(known, key=lambda kv: -kv[1])
    return DomainEvidence(
        label=str(data["label"]),
        probabilities=tuple(ranked),
        out_of_domain=bool(data.get("out_of_domain", False)),
        ood_score=_number(data.get("ood_score")),
        ood_threshold=_number(data.get("ood_threshold")),
        model=str(data.get("model", "")),
        version=str(data.get("model_version", "")),
        card=tuple((str(k), float(v)) for k, v in card.items() if _number(v) is not None),
    )


def _tool_call(review: controller_pb2.Review) -> ToolCallView | None:
    if not review.HasField("tool_call"):
        return None
    call = review.tool_call
    try:
        pretty = json.dumps(json.loads(call.arguments_json or "{}"), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        pretty = call.arguments_json
    return ToolCallView(call.server, call.tool, pretty, call.arguments_sha256, call.destructive, call.policy_listed)


def review_view(review: controller_pb2.Review, task: controller_pb2.Task | None, now: datetime) -> ReviewView:
    """The review page's content from the review and (when readable) its task."""
    created, expires = _when(review.created_at), _when(review.expires_at)
    left = (expires - now).total_seconds() if expires else 0.0
    result = task.result if task is not None and task.HasField("result") else None
    plan = task.plan if task is not None and task.HasField("plan") else None
    data: dict[str, Any] = json_format.MessageToDict(result.data) if result is not None else {}
    threshold = task.confidence_threshold if task is not None and task.confidence_threshold else 0.85
    conf = review.confidence if review.HasField("confidence") else (result.confidence if result else None)
    return ReviewView(
        review=review,
        state=_enum(C.ReviewState, review.state, "REVIEW_STATE_"),
        task_id=review.task_id,
        task_type=review.task_type or "(none)",
        text=review.task_text,
        text_redacted=task is not None and task.sensitivity in SENSITIVE,
        sensitivity=_enum(common_pb2.Sensitivity, task.sensitivity, "SENSITIVITY_") if task is not None else "",
        submitted_by=review.submitted_by,
        reason=review.reason,
        route=_enum(C.Route, review.route, "ROUTE_") if review.route else "",
        rationale=plan.rationale if plan is not None else "",
        rules=tuple(plan.rules_fired) if plan is not None else (),
        candidates=tuple((_enum(C.Route, c.route, "ROUTE_"), c.score, c.reason) for c in plan.candidates)
        if plan is not None
        else (),
        plan_steps=tuple(
            (s.step_id, _enum(C.Capability, s.capability, "CAPABILITY_"), s.target, s.purpose) for s in plan.steps
        )
        if plan is not None
        else (),
        proposed_answer=review.proposed_answer,
        threshold=threshold,
        bars=tuple(confidence_bars(conf, threshold)) if conf is not None else (),
        steps=_steps(result) if result is not None else (),
        pages=_pages(data),
        domain=_domain(data),
        tool_call=_tool_call(review),
        sources=tuple(result.sources) if result is not None else (),
        created_at=created,
        age=duration((now - created).total_seconds()) if created else "",
        expires_at=expires,
        expires_in=duration(left) if left > 0 else "expired",
        resolved_at=_when(review.resolved_at),
        reviewer=review.reviewer,
        comment=review.comment,
        final_answer=review.final_answer,
    )


@dataclass(frozen=True)
class AuditEntry:
    """One audit event on the timeline."""

    sequence: int
    at: datetime | None
    action: str
    actor: str
    details: tuple[tuple[str, str], ...]
    hash: str


def audit_entries(events: list[controller_pb2.AuditEvent]) -> list[AuditEntry]:
    """Audit events with their details as key/value pairs."""
    entries = []
    for e in events:
        try:
            details = json.loads(e.details_json or "{}")
        except ValueError:
            details = {"details": e.details_json}
        pairs = tuple(
            (str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))
            for k, v in (details.items() if isinstance(details, dict) else [("details", details)])
        )
        entries.append(AuditEntry(e.sequence, _when(e.at), e.action, e.actor, pairs, e.hash))
    return entries

"""Translation between the controller's domain objects and agentplane.v1 messages.

Layer: controller service boundary (the only place, with service.py, that knows protobuf).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentplane.v1 import common_pb2, controller_pb2
from controller.audit_signing import SignedHead
from controller.intake import Submission
from controller.models import (
    AuditEvent,
    Confidence,
    Degradation,
    Plan,
    Review,
    StepResult,
    Task,
    TaskEvent,
    TaskResult,
)

__all__ = [
    "audit_from_proto",
    "audit_to_proto",
    "confidence_to_proto",
    "event_to_proto",
    "json_format_safe",
    "review_to_proto",
    "sensitivity_name",
    "signed_head_to_proto",
    "step_to_proto",
    "submission_from_proto",
    "task_to_proto",
]


def _ts(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def _struct(data: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    json_format.ParseDict(json_format_safe(data), out)
    return out


def json_format_safe(value: Any) -> Any:
    """Make a value Struct-safe: tuples to lists, other objects to strings."""
    if isinstance(value, dict):
        return {str(k): json_format_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_format_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def sensitivity_name(value: common_pb2.Sensitivity.ValueType) -> str:
    """Proto enum value -> "PUBLIC" ... ("INTERNAL" for UNSPECIFIED)."""
    name = common_pb2.Sensitivity.Name(value).removeprefix("SENSITIVITY_")
    return "INTERNAL" if name == "UNSPECIFIED" else name


def submission_from_proto(req: controller_pb2.SubmitTaskRequest) -> Submission:
    """A SubmitTaskRequest as a domain submission."""
    schema = None
    if req.HasField("schema") and req.schema.fields:
        schema = json_format.MessageToDict(req.schema, preserving_proto_field_name=True)
    return Submission(
        text=req.text,
        task_type=req.task_type.strip(),
        session_id=req.session_id,
        idempotency_key=req.idempotency_key,
        sensitivity=sensitivity_name(req.sensitivity),
        urls=tuple(req.urls),
        schema=schema,
        metadata=dict(req.metadata),
        no_wait=req.no_wait,
    )


def confidence_to_proto(conf: Confidence | None) -> common_pb2.Confidence | None:
    """Confidence message."""
    if conf is None:
        return None
    return common_pb2.Confidence(
        score=conf.score,
        components=[
            common_pb2.ConfidenceComponent(name=c.name, value=c.value, weight=c.weight, detail=c.detail)
            for c in conf.components
        ],
        rationale=conf.rationale,
        method=conf.method,
    )


def _degradations(items: tuple[Degradation, ...]) -> list[common_pb2.Degradation]:
    return [common_pb2.Degradation(component=d.component, reason=d.reason, penalty=d.penalty) for d in items]


def _plan(plan: Plan) -> controller_pb2.Plan:
    return controller_pb2.Plan(
        route=controller_pb2.Route.Value(f"ROUTE_{plan.route.value}"),
        steps=[
            controller_pb2.PlanStep(
                step_id=s.step_id,
                capability=controller_pb2.Capability.Value(f"CAPABILITY_{s.capability.value}"),
                target=s.target,
                depends_on=list(s.depends_on),
                purpose=s.purpose,
            )
            for s in plan.steps
        ],
        candidates=[
            controller_pb2.RouteScore(
                route=controller_pb2.Route.Value(f"ROUTE_{c.route.value}"), score=c.score, reason=c.reason
            )
            for c in plan.candidates
        ],
        rules_fired=list(plan.rules_fired),
        rationale=plan.rationale,
        ambiguous=plan.ambiguous,
    )


def step_to_proto(step: StepResult) -> controller_pb2.StepResult:
    """StepResult message."""
    return controller_pb2.StepResult(
        step_id=step.step_id,
        capability=controller_pb2.Capability.Value(f"CAPABILITY_{step.capability.value}"),
        status=controller_pb2.StepStatus.Value(f"STEP_STATUS_{step.status.value}"),
        target=step.target,
        summary=step.summary,
        confidence=confidence_to_proto(step.confidence),
        latency_ms=step.latency_ms,
        attempts=step.attempts,
        error=step.error,
        degradations=_degradations(step.degradations),
    )


def _result(result: TaskResult) -> controller_pb2.TaskResult:
    return controller_pb2.TaskResult(
        answer=result.answer,
        route=controller_pb2.Route.Value(f"ROUTE_{result.route.value}"),
        confidence=confidence_to_proto(result.confidence),
        steps=[step_to_proto(s) for s in result.steps],
        data=_struct(result.data),
        degradations=_degradations(result.degradations),
        sources=list(result.sources),
        usage=common_pb2.Usage(
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            cost_usd=result.usage.cost_usd,
            upstream_calls=result.usage.upstream_calls,
        ),
        reviewed=result.reviewed,
    )


def task_to_proto(task: Task) -> controller_pb2.Task:
    """Task message."""
    msg = controller_pb2.Task(
        task_id=task.task_id,
        tenant=task.tenant,
        session_id=task.session_id,
        idempotency_key=task.idempotency_key,
        state=controller_pb2.TaskState.Value(f"TASK_STATE_{task.state.value}"),
        text=task.text,
        task_type=task.task_type,
        sensitivity=common_pb2.Sensitivity.Value(f"SENSITIVITY_{task.sensitivity}"),
        review_id=task.review_id,
        error=task.error,
        trace_id=task.trace_id,
        created_at=_ts(task.created_at),
        updated_at=_ts(task.updated_at),
        completed_at=_ts(task.completed_at),
        attempts=task.attempts,
        escalation_reason=task.escalation_reason,
        confidence_threshold=task.confidence_threshold,
    )
    if task.plan is not None:
        msg.plan.CopyFrom(_plan(task.plan))
    if task.result is not None:
        msg.result.CopyFrom(_result(task.result))
    if task.clarification is not None:
        c = task.clarification
        msg.clarification.CopyFrom(
            controller_pb2.Clarification(question=c.question, options=list(c.options), reason=c.reason)
        )
    return msg


def event_to_proto(event: TaskEvent, task: Task | None = None) -> controller_pb2.TaskEvent:
    """TaskEvent message; `task` is attached to settling events."""
    msg = controller_pb2.TaskEvent(
        task_id=event.task_id,
        sequence=event.sequence,
        type=controller_pb2.TaskEventType.Value(f"TASK_EVENT_TYPE_{event.type.value}"),
        at=_ts(event.at),
        message=event.message,
    )
    payload = event.payload
    if "plan" in payload:
        msg.plan.CopyFrom(_plan(Plan.from_dict(payload["plan"])))
    if "step" in payload:
        step = payload["step"]
        if "status" in step:
            msg.step.CopyFrom(step_to_proto(StepResult.from_dict(step)))
        else:
            msg.step.CopyFrom(
                controller_pb2.StepResult(
                    step_id=step["step_id"],
                    capability=controller_pb2.Capability.Value(f"CAPABILITY_{step['capability']}"),
                    status=controller_pb2.STEP_STATUS_RUNNING,
                    target=step.get("target", ""),
                )
            )
    if "confidence" in payload:
        conf = confidence_to_proto(Confidence.from_dict(payload["confidence"]))
        assert conf is not None
        msg.confidence.CopyFrom(conf)
    if task is not None:
        msg.task.CopyFrom(task_to_proto(task))
    return msg


def review_to_proto(review: Review) -> controller_pb2.Review:
    """Review message."""
    msg = controller_pb2.Review(
        review_id=review.review_id,
        task_id=review.task_id,
        tenant=review.tenant,
        state=controller_pb2.ReviewState.Value(f"REVIEW_STATE_{review.state.value}"),
        task_type=review.task_type,
        task_text=review.task_text,
        proposed_answer=review.proposed_answer,
        reason=review.reason,
        created_at=_ts(review.created_at),
        expires_at=_ts(review.expires_at),
        resolved_at=_ts(review.resolved_at),
        reviewer=review.reviewer,
        comment=review.comment,
        final_answer=review.final_answer,
    )
    if review.route is not None:
        msg.route = controller_pb2.Route.Value(f"ROUTE_{review.route.value}")
    conf = confidence_to_proto(review.confidence)
    if conf is not None:
        msg.confidence.CopyFrom(conf)
    return msg


def audit_to_proto(event: AuditEvent) -> controller_pb2.AuditEvent:
    """AuditEvent message (details_json is passed through byte for byte: it is hashed)."""
    return controller_pb2.AuditEvent(
        sequence=event.sequence,
        tenant=event.tenant,
        task_id=event.task_id,
        action=event.action,
        actor=event.actor,
        trace_id=event.trace_id,
        at=_ts(event.at),
        details_json=event.details_json,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def audit_from_proto(message: controller_pb2.AuditEvent) -> AuditEvent:
    """An AuditEvent from its message (what a client needs to recompute the hash)."""
    return AuditEvent(
        tenant=message.tenant,
        sequence=message.sequence,
        task_id=message.task_id,
        action=message.action,
        actor=message.actor,
        trace_id=message.trace_id,
        at=message.at.ToDatetime(tzinfo=UTC),
        details_json=message.details_json,
        prev_hash=message.prev_hash,
        hash=message.hash,
    )


def signed_head_to_proto(head: SignedHead) -> controller_pb2.SignedAuditHead:
    """SignedAuditHead message (the statement passes byte for byte: it is what was signed)."""
    return controller_pb2.SignedAuditHead(
        statement_json=head.statement_json, signature=head.signature, sequence=head.sequence
    )

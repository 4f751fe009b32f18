"""The task controller as an MCP server: submit_task, get_task, list_reviews, resolve_review, audit_trail.

Layer: MCP adapter (translates MCP arguments <-> agentplane.v1 controller messages).
Each tool is one gRPC call to TaskController through the shared `ServiceLink`, made
with the caller's key: the tenant, reviewer role and audit actor are the caller's, and
routing, confidence and escalation are the controller's own. Registered as
`controller` in the `agentplane.mcp` entry-point group.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from agentplane.mcp import ServiceLink, new_server
from agentplane.mcp.convert import enum_name, struct_dict, timestamp_iso
from agentplane.v1 import common_pb2, controller_pb2, controller_pb2_grpc

__all__ = ["AuditPage", "Resolution", "ReviewOut", "ReviewPage", "StepOut", "TaskOut", "build"]

Sensitivity = Literal["public", "internal", "confidential", "restricted"]
_READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
_DECIDE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False)


class StepOut(BaseModel):
    """One executed step of a task's plan."""

    step_id: str
    capability: str
    status: str
    target: str
    summary: str
    confidence: float
    error: str


class TaskOut(BaseModel):
    """A task: its state and, once it reached an outcome, the answer and how sure the platform is."""

    task_id: str
    state: str = Field(description="received, running, completed, needs_review, needs_clarification, failed, ...")
    task_type: str
    route: str = Field(description="domain, llm, realtime, realtime_llm, agent or external_tool.")
    answer: str
    confidence: float
    confidence_threshold: float
    confidence_rationale: str
    data: dict[str, Any] = Field(description="Structured output (label and probabilities, extracted fields, ...).")
    sources: list[str]
    steps: list[StepOut]
    review_id: str = Field(description="Set when the task waits for a reviewer (resolve_review).")
    escalation_reason: str
    clarification_question: str
    clarification_options: list[str]
    error: str
    trace_id: str
    created_at: str | None
    completed_at: str | None


class ReviewOut(BaseModel):
    """An escalated answer waiting for (or decided by) a reviewer."""

    review_id: str
    task_id: str
    state: str
    task_type: str
    task_text: str
    proposed_answer: str
    route: str
    confidence: float
    reason: str
    created_at: str | None
    expires_at: str | None
    resolved_at: str | None
    reviewer: str
    comment: str
    final_answer: str


class ReviewPage(BaseModel):
    """A page of the tenant's review queue."""

    reviews: list[ReviewOut]
    next_page_token: str = Field(description="Pass as page_token for the next page; empty = no more.")


class Resolution(BaseModel):
    """A decided review and the task it settled."""

    review: ReviewOut
    task: TaskOut


class AuditEventOut(BaseModel):
    """One entry of the tenant's hash-chained audit trail."""

    sequence: int
    task_id: str
    action: str
    actor: str
    at: str | None
    details: dict[str, Any]
    hash: str
    prev_hash: str


class AuditPage(BaseModel):
    """Audit events, oldest first."""

    events: list[AuditEventOut]
    next_after_sequence: int = Field(description="Pass as after_sequence for the next page; 0 = no more.")


def _route(value: int) -> str:
    return enum_name(controller_pb2.Route, value, "ROUTE_")


def task_out(t: controller_pb2.Task) -> TaskOut:
    """The tool output of a Task."""
    result = t.result
    return TaskOut(
        task_id=t.task_id,
        state=enum_name(controller_pb2.TaskState, t.state, "TASK_STATE_"),
        task_type=t.task_type,
        route=_route(result.route or t.plan.route),
        answer=result.answer,
        confidence=result.confidence.score,
        confidence_threshold=t.confidence_threshold,
        confidence_rationale=result.confidence.rationale,
        data=struct_dict(result.data),
        sources=list(result.sources),
        steps=[
            StepOut(
                step_id=s.step_id,
                capability=enum_name(controller_pb2.Capability, s.capability, "CAPABILITY_"),
                status=enum_name(controller_pb2.StepStatus, s.status, "STEP_STATUS_"),
                target=s.target,
                summary=s.summary,
                confidence=s.confidence.score,
                error=s.error,
            )
            for s in result.steps
        ],
        review_id=t.review_id,
        escalation_reason=t.escalation_reason,
        clarification_question=t.clarification.question,
        clarification_options=list(t.clarification.options),
        error=t.error,
        trace_id=t.trace_id,
        created_at=timestamp_iso(t.created_at),
        completed_at=timestamp_iso(t.completed_at),
    )


def review_out(r: controller_pb2.Review) -> ReviewOut:
    """The tool output of a Review."""
    return ReviewOut(
        review_id=r.review_id,
        task_id=r.task_id,
        state=enum_name(controller_pb2.ReviewState, r.state, "REVIEW_STATE_"),
        task_type=r.task_type,
        task_text=r.task_text,
        proposed_answer=r.proposed_answer,
        route=_route(r.route),
        confidence=r.confidence.score,
        reason=r.reason,
        created_at=timestamp_iso(r.created_at),
        expires_at=timestamp_iso(r.expires_at),
        resolved_at=timestamp_iso(r.resolved_at),
        reviewer=r.reviewer,
        comment=r.comment,
        final_answer=r.final_answer,
    )


def build(link: ServiceLink) -> MCPServer[Any]:
    """The controller MCP server; every tool calls TaskController over `link`."""
    stub = controller_pb2_grpc.TaskControllerStub(link.channel)
    server = new_server(
        "agentplane-controller",
        (
            "Submit tasks to the agentplane controller: it routes each to a domain model, the LLM gateway, "
            "real-time data or an external tool, scores its confidence, and escalates doubtful answers to "
            "human reviewers. Everything is recorded in a hash-chained audit trail."
        ),
    )

    @server.tool(
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True
        ),
        title="Submit a task",
    )
    async def submit_task(
        text: Annotated[str, Field(min_length=1, description="The task, in natural language.")],
        ctx: Context,
        task_type: Annotated[
            str,
            Field(
                description="Optional hint: classify, general, realtime, realtime_answer, a tenant type, "
                "or tool:<server>.<tool> for an external MCP tool."
            ),
        ] = "",
        session_id: Annotated[str, Field(description="Earlier tasks of the session are context.")] = "",
        idempotency_key: Annotated[
            str, Field(description="Resubmitting with the same key returns the same task.")
        ] = "",
        sensitivity: Annotated[Sensitivity, Field(description="How sensitive the text is.")] = "internal",
        urls: Annotated[list[str] | None, Field(description="URLs to consult (URLs in the text count too).")] = None,
        metadata: Annotated[
            dict[str, str] | None,
            Field(description='Free-form; for tool:<server>.<tool> tasks, "arguments" holds the JSON arguments.'),
        ] = None,
    ) -> TaskOut:
        """Run a task and return it once it reached an outcome (or, at the deadline, its current state)."""
        request = controller_pb2.SubmitTaskRequest(
            text=text,
            task_type=task_type,
            session_id=session_id,
            idempotency_key=idempotency_key,
            sensitivity=common_pb2.Sensitivity.Value(f"SENSITIVITY_{sensitivity.upper()}"),
            urls=urls or [],
            metadata=metadata or {},
        )
        return task_out(await link.call(stub.SubmitTask, request, ctx))

    @server.tool(annotations=_READ, title="Get a task")
    async def get_task(
        task_id: Annotated[str, Field(min_length=1, description="The task's id.")], ctx: Context
    ) -> TaskOut:
        """A task of the caller's tenant, with its state, answer, confidence and steps."""
        return task_out(await link.call(stub.GetTask, controller_pb2.GetTaskRequest(task_id=task_id), ctx))

    @server.tool(annotations=_READ, title="List reviews")
    async def list_reviews(
        ctx: Context,
        state: Annotated[
            Literal["pending", "approved", "rejected", "edited", "expired"], Field(description="Which reviews.")
        ] = "pending",
        page_size: Annotated[int, Field(ge=1, le=500, description="Reviews per page.")] = 50,
        page_token: Annotated[str, Field(description="next_page_token of the previous page.")] = "",
    ) -> ReviewPage:
        """The caller's tenant's review queue (escalated answers), oldest first."""
        request = controller_pb2.ListReviewsRequest(
            state=controller_pb2.ReviewState.Value(f"REVIEW_STATE_{state.upper()}"),
            page_size=page_size,
            page_token=page_token,
        )
        r = await link.call(stub.ListReviews, request, ctx)
        return ReviewPage(reviews=[review_out(v) for v in r.reviews], next_page_token=r.next_page_token)

    @server.tool(
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False
        ),
        title="Resolve a review",
    )
    async def resolve_review(
        review_id: Annotated[str, Field(min_length=1, description="The review's id.")],
        decision: Annotated[Literal["approve", "reject", "edit"], Field(description="The reviewer's decision.")],
        ctx: Context,
        edited_answer: Annotated[str, Field(description="Required with decision=edit: the corrected answer.")] = "",
        comment: Annotated[str, Field(description="Recorded in the audit trail.")] = "",
    ) -> Resolution:
        """Approve, reject or edit an escalated answer (reviewer role, same tenant); settles the task for good."""
        request = controller_pb2.ResolveReviewRequest(
            review_id=review_id,
            decision=controller_pb2.ReviewDecision.Value(f"REVIEW_DECISION_{decision.upper()}"),
            edited_answer=edited_answer,
            comment=comment,
        )
        r = await link.call(stub.ResolveReview, request, ctx)
        return Resolution(review=review_out(r.review), task=task_out(r.task))

    @server.tool(annotations=_READ, title="Audit trail")
    async def audit_trail(
        ctx: Context,
        task_id: Annotated[str, Field(description="Only this task's events; empty = all of the tenant's.")] = "",
        after_sequence: Annotated[int, Field(ge=0, description="Events after this sequence number.")] = 0,
        page_size: Annotated[int, Field(ge=1, le=1000, description="Events per page.")] = 100,
    ) -> AuditPage:
        """The caller's tenant's audit events (every decision and downstream call), oldest first."""
        request = controller_pb2.GetAuditTrailRequest(
            task_id=task_id, after_sequence=after_sequence, page_size=page_size
        )
        r = await link.call(stub.GetAuditTrail, request, ctx)
        return AuditPage(
            events=[
                AuditEventOut(
                    sequence=e.sequence,
                    task_id=e.task_id,
                    action=e.action,
                    actor=e.actor,
                    at=timestamp_iso(e.at),
                    details=json.loads(e.details_json) if e.details_json else {},
                    hash=e.hash,
                    prev_hash=e.prev_hash,
                )
                for e in r.events
            ],
            next_after_sequence=r.next_after_sequence,
        )

    return server

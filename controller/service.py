"""The TaskController servicer: protobuf in, domain calls, protobuf out.

Layer: controller service boundary. Every method works within the caller's tenant
(from the authenticated API key); another tenant's task, review or audit event is
indistinguishable from one that does not exist. Errors are raised as
AgentplaneErrors; the shared interceptor turns them into rich gRPC statuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import grpc

from agentplane import request_context
from agentplane.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, UnauthenticatedError
from agentplane.request_context import Principal
from agentplane.v1 import controller_pb2, controller_pb2_grpc
from controller.anchors import AuditAnchors
from controller.audit import verify_chain
from controller.convert import (
    audit_to_proto,
    event_to_proto,
    review_to_proto,
    signed_head_to_proto,
    submission_from_proto,
    task_to_proto,
)
from controller.events import EventBus
from controller.intake import Intake
from controller.models import EventType, ReviewDecision, ReviewState, Task, TaskState
from controller.recorder import TaskRecorder
from controller.reviews import ReviewDesk
from controller.runner import TaskRunner
from controller.store.base import StoreConflictError

__all__ = ["TaskControllerService"]

# Leave this much of the caller's deadline for the response to travel back.
_RESPONSE_MARGIN_S = 0.25
_SETTLED_EVENTS = frozenset(
    {
        EventType.COMPLETED,
        EventType.FAILED,
        EventType.CANCELLED,
        EventType.ESCALATED,
        EventType.CLARIFICATION_NEEDED,
        EventType.REVIEW_RESOLVED,
    }
)


def _principal() -> Principal:
    principal = request_context.current().principal
    if principal is None:
        raise UnauthenticatedError("no authenticated caller")
    return principal


class TaskControllerService(controller_pb2_grpc.TaskControllerServicer):
    """Implements agentplane.v1.TaskController."""

    def __init__(
        self,
        intake: Intake,
        runner: TaskRunner,
        recorder: TaskRecorder,
        reviews: ReviewDesk,
        bus: EventBus,
        anchors: AuditAnchors,
    ) -> None:
        self._intake = intake
        self._runner = runner
        self._recorder = recorder
        self._reviews = reviews
        self._bus = bus
        self._anchors = anchors

    async def _task(self, tenant: str, task_id: str) -> Task:
        if not task_id:
            raise InvalidArgumentError("task_id is required")
        task = await self._recorder.store.get_task(tenant, task_id)
        if task is None:
            raise NotFoundError(f"task {task_id!r} not found", reason="TASK_NOT_FOUND")
        return task

    async def SubmitTask(  # noqa: N802 - gRPC method name
        self, request: controller_pb2.SubmitTaskRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.Task:
        principal = _principal()
        task, _ = await self._intake.submit(submission_from_proto(request), principal)
        if not task.state.settled and not request.no_wait:
            left = context.time_remaining()
            wait = None if left is None else max(0.0, left - _RESPONSE_MARGIN_S)
            task = await self._intake.wait_settled(principal.tenant, task.task_id, wait) or task
        return task_to_proto(task)

    async def StreamTask(  # noqa: N802
        self, request: controller_pb2.StreamTaskRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[controller_pb2.TaskEvent]:
        principal = _principal()
        if request.HasField("submit"):
            task, _ = await self._intake.submit(submission_from_proto(request.submit), principal)
        else:
            task = await self._task(principal.tenant, request.task_id)
        store, last = self._recorder.store, 0
        with self._bus.subscribe(task.task_id) as live:
            for event in await store.task_events(principal.tenant, task.task_id):
                last = event.sequence
                attach = await self._task(principal.tenant, task.task_id) if event.type in _SETTLED_EVENTS else None
                yield event_to_proto(event, attach)
            current = await self._task(principal.tenant, task.task_id)
            while not current.state.settled:
                event = await live.get()
                if event.sequence <= last:
                    continue
                if event.sequence > last + 1:  # missed live events (slow reader): replay them from the store
                    for missed in await store.task_events(principal.tenant, task.task_id, last):
                        if missed.sequence < event.sequence:
                            last = missed.sequence
                            yield event_to_proto(missed)
                last = event.sequence
                settled = event.type in _SETTLED_EVENTS
                current = await self._task(principal.tenant, task.task_id) if settled else current
                yield event_to_proto(event, current if settled else None)

    async def GetTask(  # noqa: N802
        self, request: controller_pb2.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.Task:
        return task_to_proto(await self._task(_principal().tenant, request.task_id))

    async def CancelTask(  # noqa: N802
        self, request: controller_pb2.CancelTaskRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.Task:
        principal = _principal()
        task = await self._task(principal.tenant, request.task_id)
        if task.state.terminal:
            raise FailedPreconditionError(f"task {task.task_id} is already {task.state.value}", reason="TASK_FINISHED")
        cancelled = task.evolve(
            state=TaskState.CANCELLED, error=f"cancelled by {principal.name}: {request.reason}".strip(": ")
        )
        review = None
        if task.review_id:
            pending = await self._recorder.store.get_review(principal.tenant, task.review_id)
            if pending is not None and pending.state is ReviewState.PENDING:
                review = replace(pending, state=ReviewState.REJECTED, reviewer="system", comment="task cancelled")
        rec = self._recorder
        try:
            await rec.record(
                cancelled,
                event=EventType.CANCELLED,
                message=cancelled.error,
                audit=[
                    rec.draft(
                        cancelled,
                        "task.cancelled",
                        principal.name,
                        {"reason": request.reason, "from_state": task.state.value},
                    )
                ],
                expect_state=task.state,
                review=review,
            )
        except StoreConflictError:
            raise FailedPreconditionError(
                f"task {task.task_id} changed while cancelling; try again", reason="TASK_CHANGED"
            ) from None
        self._runner.cancel_running(task.task_id)
        return task_to_proto(cancelled)

    async def ListReviews(  # noqa: N802
        self, request: controller_pb2.ListReviewsRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.ListReviewsResponse:
        principal = _principal()
        size = min(request.page_size or 50, 500)
        state = None
        if request.state != controller_pb2.REVIEW_STATE_UNSPECIFIED:
            state = ReviewState(controller_pb2.ReviewState.Name(request.state).removeprefix("REVIEW_STATE_"))
        else:
            state = ReviewState.PENDING
        reviews = await self._reviews.list(principal.tenant, state, size + 1, request.page_token)
        page, more = reviews[:size], len(reviews) > size
        return controller_pb2.ListReviewsResponse(
            reviews=[review_to_proto(r) for r in page], next_page_token=page[-1].review_id if more else ""
        )

    async def GetReview(  # noqa: N802
        self, request: controller_pb2.GetReviewRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.Review:
        if not request.review_id:
            raise InvalidArgumentError("review_id is required")
        review = await self._recorder.store.get_review(_principal().tenant, request.review_id)
        if review is None:
            raise NotFoundError(f"review {request.review_id!r} not found", reason="REVIEW_NOT_FOUND")
        return review_to_proto(review)

    async def ResolveReview(  # noqa: N802
        self, request: controller_pb2.ResolveReviewRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.ResolveReviewResponse:
        if request.decision == controller_pb2.REVIEW_DECISION_UNSPECIFIED:
            raise InvalidArgumentError("decision is required: APPROVE, REJECT or EDIT")
        decision = ReviewDecision(controller_pb2.ReviewDecision.Name(request.decision).removeprefix("REVIEW_DECISION_"))
        review, task = await self._reviews.resolve(
            _principal(), request.review_id, decision, request.edited_answer, request.comment
        )
        return controller_pb2.ResolveReviewResponse(review=review_to_proto(review), task=task_to_proto(task))

    async def GetAuditTrail(  # noqa: N802
        self, request: controller_pb2.GetAuditTrailRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.GetAuditTrailResponse:
        tenant = _principal().tenant
        size = min(request.page_size or 100, 1000)
        events = await self._recorder.store.audit_events(
            tenant, task_id=request.task_id, after_sequence=request.after_sequence, limit=size + 1
        )
        page, more = events[:size], len(events) > size
        return controller_pb2.GetAuditTrailResponse(
            events=[audit_to_proto(e) for e in page], next_after_sequence=page[-1].sequence if more else 0
        )

    async def VerifyAuditTrail(  # noqa: N802
        self, request: controller_pb2.VerifyAuditTrailRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.VerifyAuditTrailResponse:
        tenant = _principal().tenant
        store = self._recorder.store
        events, after = [], 0
        while True:
            page = await store.audit_events(tenant, after_sequence=after, limit=5000)
            events += page
            if len(page) < 5000:
                break
            after = page[-1].sequence
        verdict = verify_chain(events, head=await store.audit_head(tenant))
        return controller_pb2.VerifyAuditTrailResponse(
            valid=verdict.valid,
            events_checked=verdict.events_checked,
            first_bad_sequence=verdict.first_bad_sequence,
            problem=verdict.problem,
            head_hash=verdict.head_hash,
        )

    async def WhoAmI(  # noqa: N802
        self, request: controller_pb2.WhoAmIRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.Caller:
        principal = _principal()
        return controller_pb2.Caller(name=principal.name, tenant=principal.tenant, roles=sorted(principal.roles))

    async def SignAuditHead(  # noqa: N802
        self, request: controller_pb2.SignAuditHeadRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.SignedAuditHead:
        return signed_head_to_proto(await self._anchors.sign_head(_principal().tenant))

    async def ListSignedAuditHeads(  # noqa: N802
        self, request: controller_pb2.ListSignedAuditHeadsRequest, context: grpc.aio.ServicerContext
    ) -> controller_pb2.ListSignedAuditHeadsResponse:
        size = min(request.page_size or 100, 1000)
        heads = await self._recorder.store.signed_heads(
            _principal().tenant, after_sequence=request.after_sequence, limit=size + 1
        )
        page, more = heads[:size], len(heads) > size
        return controller_pb2.ListSignedAuditHeadsResponse(
            heads=[signed_head_to_proto(h) for h in page], next_after_sequence=page[-1].sequence if more else 0
        )

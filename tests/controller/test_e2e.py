"""The controller with all four services really running (`agentplane up`, fake LLM upstream)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from agentplane.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from agentplane.rpc import ServiceChannel, stream, unary
from agentplane.v1 import common_pb2, controller_pb2, controller_pb2_grpc
from tests.support.platform import Platform

pytestmark = pytest.mark.slow

C = controller_pb2
MOVIE_REVIEW = (
    "A gorgeous, heartfelt film: the performances are luminous and the score lingers for days. "
    "Easily the most moving picture of the year, and I laughed and cried in equal measure."
)
ARTICLE = (
    "Shares in the retailer jumped 9% after it reported record half-year profits, raised its dividend "
    "and said sales in its stores had grown faster than analysts expected. The chief executive said the "
    "company would open forty new shops next year and cut prices to win customers from its rivals, while "
    "investors welcomed a plan to return cash through a share buyback."
)


@asynccontextmanager
async def controller(
    platform: Platform, key: str = "acme-user"
) -> AsyncIterator[controller_pb2_grpc.TaskControllerStub]:
    async with ServiceChannel([platform.address("controller")], api_key=platform.key(key)) as channel:
        yield controller_pb2_grpc.TaskControllerStub(channel.channel)


async def submit(platform: Platform, key: str = "acme-user", timeout_s: float = 60, **fields) -> C.Task:
    async with controller(platform, key) as stub:
        return await unary(stub.SubmitTask, C.SubmitTaskRequest(**fields), timeout_s=timeout_s)


async def test_domain_task_is_classified_and_answered(platform):
    task = await submit(platform, text=f"Classify this article: {ARTICLE}", task_type="classify")
    assert task.state == C.TASK_STATE_COMPLETED, task
    assert task.result.route == C.ROUTE_DOMAIN
    assert task.result.answer == "Topic: business"
    assert task.result.confidence.score >= 0.85
    assert task.result.data["label"] == "business"
    assert task.plan.rules_fired == ["task_type_hint:classify"]
    assert {c.name for c in task.result.confidence.components} <= {"calibrated_probability", "length_calibration"}
    # The model card's headline figures ride along as evidence for reviewers.
    card = task.result.data["model_card"]
    assert 0.5 < card["evaluation.test_articles.accuracy"] <= 1.0 and len(card) <= 16


async def test_semantic_routing_sends_news_text_to_the_domain_model(platform):
    task = await submit(platform, text=ARTICLE)
    assert task.plan.route == C.ROUTE_DOMAIN, task.plan
    assert not task.plan.rules_fired
    assert task.plan.candidates[0].route == C.ROUTE_DOMAIN
    assert "semantic" in task.plan.rationale


async def test_general_question_goes_to_the_llm_with_logprob_confidence(platform):
    task = await submit(platform, text="Explain compound interest in one sentence.", task_type="general")
    assert task.state == C.TASK_STATE_COMPLETED, task
    assert task.result.route == C.ROUTE_LLM
    assert task.result.answer.startswith("Echo:")
    assert task.result.confidence.components[0].name == "token_confidence"
    assert task.result.usage.input_tokens > 0


async def test_url_question_fetches_the_page_then_answers_from_it(platform):
    url = f"{platform.pages_url}/rates.html"
    task = await submit(platform, text=f"What is the EUR/USD rate on {url} ?", task_type="realtime_answer")
    assert task.state == C.TASK_STATE_COMPLETED, task
    assert task.result.route == C.ROUTE_REALTIME_LLM
    assert list(task.result.sources) == [url]
    assert [s.capability for s in task.result.steps] == [C.CAPABILITY_REALTIME_FETCH, C.CAPABILITY_LLM_COMPLETE]
    # The page content reached the LLM (the fake echoes its last user message).
    assert "1.0842" in task.result.answer


async def test_injected_page_lowers_confidence_and_escalates(platform):
    url = f"{platform.pages_url}/policy.html"
    task = await submit(platform, text=f"fetch {url}", task_type="realtime")
    assert task.state == C.TASK_STATE_NEEDS_REVIEW, task
    assert "injection_risk" in {c.name for c in task.result.confidence.components}
    assert "Ignore all previous instructions" not in task.result.answer


async def test_out_of_domain_text_is_escalated_and_a_reviewer_approves_it(platform):
    task = await submit(platform, text=MOVIE_REVIEW, task_type="classify")
    assert task.state == C.TASK_STATE_NEEDS_REVIEW, task
    assert "out_of_domain" in {c.name for c in task.result.confidence.components}
    assert task.review_id and task.escalation_reason.startswith("low_confidence")

    async with controller(platform, "acme-reviewer") as stub:
        pending = await unary(stub.ListReviews, C.ListReviewsRequest(page_size=500))
        review = next(r for r in pending.reviews if r.review_id == task.review_id)
        assert review.task_text == MOVIE_REVIEW and review.proposed_answer == task.result.answer
        resolved = await unary(
            stub.ResolveReview,
            C.ResolveReviewRequest(
                review_id=task.review_id,
                decision=C.REVIEW_DECISION_EDIT,
                edited_answer="Not a news article: a film review.",
                comment="out of scope for the topic model",
            ),
        )
    assert resolved.review.state == C.REVIEW_STATE_EDITED
    assert resolved.task.state == C.TASK_STATE_COMPLETED
    assert resolved.task.result.answer == "Not a news article: a film review."
    assert resolved.task.result.reviewed

    async with controller(platform, "acme-reviewer") as stub:
        with pytest.raises(FailedPreconditionError):  # resolved once only
            await unary(
                stub.ResolveReview, C.ResolveReviewRequest(review_id=task.review_id, decision=C.REVIEW_DECISION_APPROVE)
            )


async def test_only_reviewers_of_the_same_tenant_may_resolve(platform):
    task = await submit(platform, text=MOVIE_REVIEW + " Truly.", task_type="classify")
    assert task.state == C.TASK_STATE_NEEDS_REVIEW
    decision = C.ResolveReviewRequest(review_id=task.review_id, decision=C.REVIEW_DECISION_APPROVE)
    async with controller(platform, "acme-user") as stub:
        with pytest.raises(PermissionDeniedError):
            await unary(stub.ResolveReview, decision)
    async with controller(platform, "globex-reviewer") as stub:
        with pytest.raises(NotFoundError):
            await unary(stub.ResolveReview, decision)
    async with controller(platform, "acme-reviewer") as stub:
        resolved = await unary(stub.ResolveReview, decision)
    assert resolved.task.state == C.TASK_STATE_COMPLETED
    assert resolved.task.result.answer == task.result.answer


async def test_who_am_i_names_the_key_and_get_review_stays_in_the_callers_tenant(platform):
    async with controller(platform, "acme-reviewer") as stub:
        me = await unary(stub.WhoAmI, C.WhoAmIRequest())
    assert (me.name, me.tenant, list(me.roles)) == ("acme-reviewer", "acme", ["reviewer"])
    task = await submit(platform, text=MOVIE_REVIEW + " A must-see.", task_type="classify")
    assert task.state == C.TASK_STATE_NEEDS_REVIEW
    async with controller(platform, "acme-reviewer") as stub:
        review = await unary(stub.GetReview, C.GetReviewRequest(review_id=task.review_id))
        with pytest.raises(InvalidArgumentError):
            await unary(stub.GetReview, C.GetReviewRequest())
    assert review.task_id == task.task_id and review.state == C.REVIEW_STATE_PENDING
    async with controller(platform, "globex-reviewer") as stub:
        with pytest.raises(NotFoundError) as other_tenant:
            await unary(stub.GetReview, C.GetReviewRequest(review_id=task.review_id))
        with pytest.raises(NotFoundError) as missing:
            await unary(stub.GetReview, C.GetReviewRequest(review_id="rev_missing"))
    assert other_tenant.value.reason == missing.value.reason == "REVIEW_NOT_FOUND"


async def test_rejection_ends_the_task_as_rejected(platform):
    task = await submit(
        platform, text="Approve a transfer of 5,000 EUR to the usual supplier.", task_type="payment_approval"
    )
    assert task.state == C.TASK_STATE_NEEDS_REVIEW, task
    assert task.escalation_reason == "high_stakes_task_type"
    async with controller(platform, "acme-reviewer") as stub:
        resolved = await unary(
            stub.ResolveReview,
            C.ResolveReviewRequest(review_id=task.review_id, decision=C.REVIEW_DECISION_REJECT, comment="no invoice"),
        )
    assert resolved.task.state == C.TASK_STATE_REJECTED
    assert "no invoice" in resolved.task.error


async def test_reviews_expire_and_their_tasks_fail_explicitly(platform):
    task = await submit(platform, text=ARTICLE, task_type="short_lived")  # threshold 1.0, reviews live 1 s
    assert task.state == C.TASK_STATE_NEEDS_REVIEW
    async with controller(platform) as stub:
        events = [e async for e in stream(stub.StreamTask, C.StreamTaskRequest(task_id=task.task_id), timeout_s=30)]
        # StreamTask ends once the task settles: here at the expiry (the sweeper runs every second).
        while events[-1].type != C.TASK_EVENT_TYPE_FAILED:
            events = [e async for e in stream(stub.StreamTask, C.StreamTaskRequest(task_id=task.task_id), timeout_s=30)]
        final = await unary(stub.GetTask, C.GetTaskRequest(task_id=task.task_id))
    assert final.state == C.TASK_STATE_FAILED and "expired" in final.error


async def test_missing_url_asks_for_one_and_the_answer_in_the_session_completes_it(platform):
    session = f"s-{uuid.uuid4().hex[:8]}"
    task = await submit(platform, text="What is the gold price today?", task_type="realtime", session_id=session)
    assert task.state == C.TASK_STATE_NEEDS_CLARIFICATION, task
    assert "URL" in task.clarification.question
    follow_up = await submit(platform, text=f"{platform.pages_url}/rates.html", session_id=session)
    assert follow_up.state == C.TASK_STATE_COMPLETED, follow_up
    assert follow_up.text == "What is the gold price today?"
    assert follow_up.result.route == C.ROUTE_REALTIME
    assert "2,391.50" in follow_up.result.answer


async def test_idempotency_key_returns_the_same_task_and_refuses_a_different_request(platform):
    key = f"idem-{uuid.uuid4().hex}"
    first = await submit(platform, text=ARTICLE, task_type="classify", idempotency_key=key)
    again = await submit(platform, text=ARTICLE, task_type="classify", idempotency_key=key)
    assert again.task_id == first.task_id and again.state == first.state
    with pytest.raises(FailedPreconditionError) as info:
        await submit(platform, text="something else", task_type="classify", idempotency_key=key)
    assert info.value.reason == "IDEMPOTENCY_KEY_REUSED"
    # Another tenant's identical key is another task.
    other = await submit(platform, "globex-user", text=ARTICLE, task_type="classify", idempotency_key=key)
    assert other.task_id != first.task_id


async def test_stream_task_reports_every_stage_in_order(platform):
    async with controller(platform) as stub:
        request = C.StreamTaskRequest(submit=C.SubmitTaskRequest(text=ARTICLE, task_type="classify"))
        events = [e async for e in stream(stub.StreamTask, request, timeout_s=60)]
    kinds = [C.TaskEventType.Name(e.type).removeprefix("TASK_EVENT_TYPE_") for e in events]
    assert kinds == ["RECEIVED", "ANALYSED", "STEP_STARTED", "STEP_DONE", "CONFIDENCE", "COMPLETED"]
    assert [e.sequence for e in events] == list(range(1, 7))
    assert events[1].plan.route == C.ROUTE_DOMAIN
    assert events[3].step.status == C.STEP_STATUS_SUCCEEDED
    assert events[-1].task.state == C.TASK_STATE_COMPLETED


async def test_tenants_cannot_see_each_other(platform):
    task = await submit(platform, text=ARTICLE, task_type="classify")
    async with controller(platform, "globex-user") as stub:
        with pytest.raises(NotFoundError):
            await unary(stub.GetTask, C.GetTaskRequest(task_id=task.task_id))
        with pytest.raises(NotFoundError):
            await unary(stub.CancelTask, C.CancelTaskRequest(task_id=task.task_id))
        trail = await unary(stub.GetAuditTrail, C.GetAuditTrailRequest(task_id=task.task_id))
        assert not trail.events
        globex_all = await unary(stub.GetAuditTrail, C.GetAuditTrailRequest(page_size=1000))
        assert {e.tenant for e in globex_all.events} <= {"globex"}
    async with controller(platform, "globex-reviewer") as stub:
        reviews = await unary(stub.ListReviews, C.ListReviewsRequest(page_size=500))
        assert all(r.tenant == "globex" for r in reviews.reviews)


async def test_bad_requests_get_clear_errors(platform):
    with pytest.raises(InvalidArgumentError) as info:
        await submit(platform, text="   ")
    assert info.value.violations[0].field == "text"
    with pytest.raises(InvalidArgumentError):
        await submit(platform, text="x", urls=["file:///etc/passwd"])
    async with ServiceChannel([platform.address("controller")], api_key="wrong") as channel:
        with pytest.raises(UnauthenticatedError):
            await unary(controller_pb2_grpc.TaskControllerStub(channel.channel).GetTask, C.GetTaskRequest(task_id="x"))


async def test_sensitive_text_is_stored_redacted(platform):
    text = "Customer jane.doe@example.com asks: explain overdraft fees briefly."
    task = await submit(platform, text=text, task_type="general", sensitivity=common_pb2.SENSITIVITY_CONFIDENTIAL)
    assert task.state == C.TASK_STATE_COMPLETED, task
    assert "jane.doe@example.com" not in task.text and "[EMAIL_1]" in task.text
    async with controller(platform) as stub:
        trail = await unary(stub.GetAuditTrail, C.GetAuditTrailRequest(task_id=task.task_id))
    received = json.loads(trail.events[0].details_json)
    assert received["text_kept"] == "redacted" and len(received["text_sha256"]) == 64
    assert all("jane.doe" not in e.details_json for e in trail.events)


async def test_session_turns_are_context_for_the_next_task(platform):
    session = f"s-{uuid.uuid4().hex[:8]}"
    first = await submit(platform, text="My name is Ada.", task_type="general", session_id=session)
    second = await submit(platform, text="What is my name?", task_type="general", session_id=session)
    alone = await submit(platform, text="What is my name?", task_type="general")
    assert first.state == second.state == C.TASK_STATE_COMPLETED
    # The second turn carried the first as context: more input tokens than the same question alone.
    assert second.result.usage.input_tokens > alone.result.usage.input_tokens


async def test_cancel_stops_a_running_task(platform):
    url = f"{platform.pages_url}/slow/1500.html"
    async with controller(platform) as stub:
        task = await unary(
            stub.SubmitTask, C.SubmitTaskRequest(text=f"fetch {url}", task_type="realtime"), timeout_s=0.5
        )
        assert task.state in (C.TASK_STATE_RECEIVED, C.TASK_STATE_RUNNING)
        cancelled = await unary(stub.CancelTask, C.CancelTaskRequest(task_id=task.task_id, reason="changed my mind"))
        assert cancelled.state == C.TASK_STATE_CANCELLED
        with pytest.raises(FailedPreconditionError):
            await unary(stub.CancelTask, C.CancelTaskRequest(task_id=task.task_id))
        trail = await unary(stub.GetAuditTrail, C.GetAuditTrailRequest(task_id=task.task_id))
    assert "task.cancelled" in [e.action for e in trail.events]


async def test_a_task_survives_the_controller_being_killed_mid_task(platform):
    url = f"{platform.pages_url}/slow/1500.html"
    async with controller(platform) as stub:
        request = C.StreamTaskRequest(submit=C.SubmitTaskRequest(text=f"fetch {url}", task_type="realtime"))
        task_id = ""
        async for event in stream(stub.StreamTask, request, timeout_s=30):
            task_id = event.task_id
            if event.type == C.TASK_EVENT_TYPE_STEP_STARTED:
                break  # the fetch is in flight
    pid = platform.pid("controller")
    os.kill(pid, signal.SIGKILL)
    # The supervisor restarts the controller; the task resumes and completes (or fails explicitly).
    final = None
    for _ in range(120):
        try:
            async with controller(platform) as stub:
                final = await unary(stub.GetTask, C.GetTaskRequest(task_id=task_id), timeout_s=5)
        except Exception:
            await asyncio.sleep(0.5)  # polling a process restart: no event to wait on
            continue
        if final.state in (C.TASK_STATE_COMPLETED, C.TASK_STATE_FAILED):
            break
        await asyncio.sleep(0.5)
    assert final is not None and final.state == C.TASK_STATE_COMPLETED, final
    assert final.attempts == 2
    async with controller(platform) as stub:
        trail = await unary(stub.GetAuditTrail, C.GetAuditTrailRequest(task_id=task_id))
    assert "task.resumed" in [e.action for e in trail.events]
    assert platform.pid("controller") != pid


async def test_audit_trail_verifies_and_detects_tampering(platform):
    await submit(platform, "globex-user", text=ARTICLE, task_type="classify")
    async with controller(platform, "globex-user") as stub:
        verdict = await unary(stub.VerifyAuditTrail, C.VerifyAuditTrailRequest())
        assert verdict.valid and verdict.events_checked >= 5, verdict
        db = sqlite3.connect(platform.data_dir / "controller.db", timeout=10)
        try:
            (original,) = db.execute(
                "SELECT details_json FROM audit_events WHERE tenant='globex' AND sequence=2"
            ).fetchone()
            with db:
                db.execute(
                    "UPDATE audit_events SET details_json=? WHERE tenant='globex' AND sequence=2",
                    (original.replace("DOMAIN", "LLM"),),
                )
            broken = await unary(stub.VerifyAuditTrail, C.VerifyAuditTrailRequest())
            assert not broken.valid and broken.first_bad_sequence == 2, broken
            assert "edited" in broken.problem
        finally:
            with db:
                db.execute("UPDATE audit_events SET details_json=? WHERE tenant='globex' AND sequence=2", (original,))
            db.close()
        assert (await unary(stub.VerifyAuditTrail, C.VerifyAuditTrailRequest())).valid


async def test_no_wait_acknowledges_once_persisted_and_the_task_can_be_followed(platform):
    async with controller(platform) as stub:
        task = await unary(stub.SubmitTask, C.SubmitTaskRequest(text=ARTICLE, task_type="classify", no_wait=True))
        assert task.state in (C.TASK_STATE_RECEIVED, C.TASK_STATE_RUNNING, C.TASK_STATE_COMPLETED)
        events = [e async for e in stream(stub.StreamTask, C.StreamTaskRequest(task_id=task.task_id), timeout_s=60)]
    assert events[0].type == C.TASK_EVENT_TYPE_RECEIVED
    assert events[-1].type == C.TASK_EVENT_TYPE_COMPLETED and events[-1].task.result.answer == "Topic: business"

"""The review queue: live updates, filters and counts, tenant isolation, in a real browser."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect

from agentplane.v1 import controller_pb2 as C  # noqa: N812

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _row(page, review_id: str):
    return page.locator(f'tr[data-review-id="{review_id}"]')


async def test_an_escalated_task_appears_live_and_leaves_when_resolved_elsewhere(stack, reviewers, screenshots):
    page = await reviewers.page()
    try:
        await page.goto(stack.url + "queue")
        await expect(page.locator("#queue-count")).to_be_visible()
        marker = uuid.uuid4().hex[:8]
        task = await stack.escalated(f"Draft a polite reply to the supplier about invoice {marker}.")
        # No reload: the page hears about it over server-sent events.
        await expect(_row(page, task.review_id)).to_be_visible()
        await expect(_row(page, task.review_id)).to_contain_text(marker)
        await expect(page.locator("#live-status")).to_contain_text("Queue updated")
        second = await stack.escalated("Classify: shares rallied after strong bank results.", "classify")
        await expect(_row(page, second.review_id)).to_be_visible()
        await page.screenshot(path=screenshots / "console-queue.png", full_page=True)
        decision = C.ResolveReviewRequest(review_id=task.review_id, decision=C.REVIEW_DECISION_APPROVE)
        await stack.call("ResolveReview", decision, "admin")  # another reviewer, another client
        await expect(_row(page, task.review_id)).to_have_count(0)
    finally:
        await page.close()


async def test_filters_narrow_the_queue_and_counts_add_up(stack, reviewers):
    general = await stack.escalated("Write a haiku about quarterly reporting.")
    classify = await stack.escalated("Classify: the striker scored twice in the derby.", "classify")
    page = await reviewers.page()
    try:
        await page.goto(stack.url + "queue")
        await page.get_by_label("Task type").select_option("classify")
        await page.get_by_role("button", name="Filter").click()
        await page.wait_for_url("**/queue?task_type=classify&reason=")
        await expect(_row(page, classify.review_id)).to_be_visible()
        await expect(_row(page, general.review_id)).to_have_count(0)
        types = await page.locator("#queue-rows tr td:nth-child(2)").all_inner_texts()
        assert types and set(types) == {"classify"}
        pending = await stack.call("ListReviews", C.ListReviewsRequest(page_size=500), "acme-reviewer")
        shown, total = await page.locator("#queue-count strong").all_inner_texts()
        assert int(total) == len(pending.reviews) and int(shown) == len(types)
        await page.get_by_label("Reason").select_option("low_confidence")
        await page.get_by_role("button", name="Filter").click()
        await expect(_row(page, classify.review_id)).to_be_visible()
    finally:
        await page.close()


async def test_tenant_b_reviewer_sees_nothing_of_tenant_a(stack, reviewers):
    acme = await stack.escalated("Acme's confidential merger memo: summarise it.")
    page = await reviewers.page("globex-reviewer")
    try:
        await page.goto(stack.url + "queue")
        await expect(page.locator("#who-tenant")).to_have_text("globex")
        await expect(_row(page, acme.review_id)).to_have_count(0)
        assert "merger memo" not in await page.content()
        # Guessing the id: the same answer as for an id that does not exist anywhere.
        guessed = await page.goto(stack.url + f"reviews/{acme.review_id}")
        assert guessed.status == 404
        guessed_text = (await page.locator("#error-message").inner_text()).replace(acme.review_id, "ID")
        await page.goto(stack.url + "reviews/rev_doesnotexist00000000")
        missing_text = (await page.locator("#error-message").inner_text()).replace("rev_doesnotexist00000000", "ID")
        assert guessed_text == missing_text
        assert "merger memo" not in await page.content()
        # Acting on it with a valid globex session and token changes nothing.
        await page.goto(stack.url + "queue")
        token = await page.locator('input[name="csrf_token"]').first.get_attribute("value")
        answer = await page.request.post(
            stack.url + f"reviews/{acme.review_id}", form={"csrf_token": token, "decision": "APPROVE"}
        )
        assert answer.status == 404 and "merger memo" not in await answer.text()
        assert (await stack.review(acme.review_id)).state == C.REVIEW_STATE_PENDING
        # Nor does its live feed carry tenant A's reviews.
        feed = await page.evaluate(
            """() => new Promise((resolve) => {
                const source = new EventSource("/events");
                source.addEventListener("queue", (e) => { source.close(); resolve(e.data); });
            })"""
        )
        assert acme.review_id not in feed
    finally:
        await page.close()

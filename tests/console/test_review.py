"""One review in the console: evidence, decisions, conflicts, XSS and CSRF, audit, in a real browser."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from agentplane.v1 import controller_pb2 as C  # noqa: N812
from console.guard import CSP
from tests.console.conftest import XSS_TITLE

pytestmark = pytest.mark.asyncio(loop_scope="package")

ARTICLE = (
    "Shares in the retailer jumped 9% after it reported record half-year profits, raised its dividend "
    "and said sales in its stores had grown faster than analysts expected."
)
XSS_TEXT = "<script>window.__xss='text'</script><img src=x onerror=\"window.__xss='img'\"> please summarise"


async def _open(reviewers, stack, review_id: str, key: str = "acme-reviewer"):
    page = await reviewers.page(key)
    await page.goto(stack.url + f"reviews/{review_id}")
    return page


async def test_a_domain_review_shows_probabilities_model_card_and_bars_against_the_threshold(
    stack, reviewers, screenshots
):
    task = await stack.escalated(f"Classify this article: {ARTICLE}", "classify")
    page = await _open(reviewers, stack, task.review_id)
    try:
        await expect(page.locator("#route")).to_have_text("DOMAIN")
        await expect(page.locator("#domain-label")).to_have_text("business")
        labels = await page.locator("#label-probabilities tbody th").all_inner_texts()
        assert set(labels) == {"business", "entertainment", "politics", "sport", "tech"} and labels[0] == "business"
        card = await page.locator("#model-card tbody th").all_inner_texts()
        assert any("accuracy" in name for name in card), card
        components = [c.name for c in task.result.confidence.components]
        rows = page.locator("#confidence tbody tr")
        await expect(rows).to_have_count(len(components) + 1)
        for name in components:
            bar = page.locator(f'#confidence tr[data-component="{name}"] svg')
            await expect(bar).to_have_attribute("aria-label", f"{name}: " + _value(task, name) + _against(1.0))
        await expect(page.locator("#h-confidence")).to_contain_text("(1.00)")
        await page.screenshot(path=screenshots / "console-review.png", full_page=True)
    finally:
        await page.close()


def _value(task, name: str) -> str:
    value = next(c.value for c in task.result.confidence.components if c.name == name)
    return f"{value:.3f}"


def _against(threshold: float) -> str:
    return f" against threshold {threshold:.2f}, below"


async def test_a_realtime_review_shows_the_page_title_url_age_and_injection_report(stack, reviewers):
    url = stack.services.site.url("/injected.html")
    task = await stack.escalated(f"What does {url} say?", "lookup")
    page = await _open(reviewers, stack, task.review_id)
    try:
        await expect(page.locator(".page-title")).to_have_text("Cheap flights")
        await expect(page.locator(".page-url")).to_have_text(url)
        await expect(page.locator(".injection")).to_contain_text("flagged as a possible prompt injection")
        await expect(page.locator("#confidence")).to_contain_text("injection_risk")
        await expect(page.locator("#steps")).to_contain_text("REALTIME_FETCH")
    finally:
        await page.close()


async def test_approve_edit_and_reject_each_resolve_the_task_with_a_comment(stack, reviewers):
    approve = await stack.escalated("Reply to the customer that the parcel ships on Monday.")
    edit = await stack.escalated("Tell the customer when the refund arrives.")
    reject = await stack.escalated("Send the customer our internal price list.")
    page = await reviewers.page()
    try:
        await page.goto(stack.url + f"reviews/{approve.review_id}")
        await page.get_by_label("Comment").fill("looks right")
        await page.get_by_role("button", name="Approve", exact=True).click()
        await expect(page.locator("#decision-done")).to_have_text("Approved.")
        await expect(page.locator("#review-state")).to_have_text("APPROVED")

        await page.goto(stack.url + f"reviews/{edit.review_id}")
        await page.get_by_label("Edited answer").fill("Your refund arrives within 5 working days.")
        await page.get_by_label("Comment").fill("gave the real delay")
        await page.get_by_role("button", name="Save edited answer").click()
        await expect(page.locator("#review-state")).to_have_text("EDITED")
        await expect(page.locator("#final-answer")).to_have_text("Your refund arrives within 5 working days.")

        await page.goto(stack.url + f"reviews/{reject.review_id}")
        await page.get_by_label("Comment").fill("internal data must not leave")
        await page.get_by_role("button", name="Reject").click()
        await expect(page.locator("#review-state")).to_have_text("REJECTED")
    finally:
        await page.close()
    approved, edited, rejected = [await stack.task(t.task_id) for t in (approve, edit, reject)]
    assert approved.state == C.TASK_STATE_COMPLETED and approved.result.reviewed
    assert edited.state == C.TASK_STATE_COMPLETED
    assert edited.result.answer == "Your refund arrives within 5 working days."
    assert rejected.state == C.TASK_STATE_REJECTED and "internal data must not leave" in rejected.error
    trail = await stack.call("GetAuditTrail", C.GetAuditTrailRequest(task_id=approve.task_id), "acme-reviewer")
    resolved = [e for e in trail.events if e.action == "review.resolved"]
    assert len(resolved) == 1 and resolved[0].actor == "acme-reviewer" and "looks right" in resolved[0].details_json


async def test_a_second_reviewer_sees_the_conflict_when_another_decided_first(stack, reviewers):
    task = await stack.escalated("Confirm the delivery address change for order 1182.")
    first_page = await _open(reviewers, stack, task.review_id, "acme-reviewer")
    second_page = await _open(reviewers, stack, task.review_id, "admin")
    try:
        await first_page.get_by_label("Comment").fill("verified by phone")
        await first_page.get_by_role("button", name="Approve", exact=True).click()
        await expect(first_page.locator("#review-state")).to_have_text("APPROVED")
        # The second page still shows the form (or its live notice); its decision loses the compare-and-set.
        async with second_page.expect_response(stack.url + f"reviews/{task.review_id}") as answer:
            await second_page.get_by_role("button", name="Reject").click()
        assert (await answer.value).status == 409
        conflict = second_page.locator("#conflict")
        await expect(conflict).to_contain_text("Another reviewer decided first")
        await expect(conflict).to_contain_text("REJECT")
        await expect(conflict).to_contain_text("APPROVED by acme-reviewer")
        await expect(conflict).to_contain_text("verified by phone")
    finally:
        await first_page.close()
        await second_page.close()
    assert (await stack.task(task.task_id)).state == C.TASK_STATE_COMPLETED


async def test_xss_payloads_in_task_text_and_page_title_are_shown_as_text_and_never_run(stack, reviewers):
    text_task = await stack.escalated(XSS_TEXT)
    page_task = await stack.escalated(f"Rates on {stack.services.site.url('/hostile.html')}", "lookup")
    page = await reviewers.page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        await page.goto(stack.url + "queue")
        await expect(page.locator(f'tr[data-review-id="{text_task.review_id}"]')).to_contain_text("<script>")
        await page.goto(stack.url + f"reviews/{text_task.review_id}")
        await expect(page.locator("#task-text")).to_have_text(XSS_TEXT)
        await page.goto(stack.url + f"reviews/{page_task.review_id}")
        await expect(page.locator(".page-title")).to_have_text(XSS_TITLE)
        # Proof that nothing ran: the payloads would have set window.__xss; no inline markup was created.
        assert await page.evaluate("() => window.__xss") is None
        assert await page.locator("#main img, #main script").count() == 0
        assert dialogs == [] and violations == []
    finally:
        await page.close()


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(stack, reviewers):
    task = await stack.escalated("Approve the new vendor for the stationery order.")
    page = await _open(reviewers, stack, task.review_id)
    try:
        url = stack.url + f"reviews/{task.review_id}"
        no_token = await page.request.post(url, form={"decision": "APPROVE"})
        assert no_token.status == 403 and "CSRF" in await no_token.text()
        wrong = await page.request.post(url, form={"decision": "APPROVE", "csrf_token": "guessed"})
        assert wrong.status == 403
        token = await page.locator('input[name="csrf_token"]').first.get_attribute("value")
        cross_site = await page.request.post(
            url, form={"decision": "APPROVE", "csrf_token": token}, headers={"Origin": "http://evil.example"}
        )
        assert cross_site.status == 403
        assert (await stack.review(task.review_id)).state == C.REVIEW_STATE_PENDING
    finally:
        await page.close()


async def test_pages_carry_a_strict_csp_and_no_inline_script_or_style(stack, reviewers):
    task = await stack.escalated("Check the tone of this announcement.")
    page = await reviewers.page()
    try:
        answer = await page.goto(stack.url + f"reviews/{task.review_id}")
        headers = answer.headers
        assert headers["content-security-policy"] == CSP
        assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        assert await page.locator("script:not([src])").count() == 0
        assert await page.locator("[style]").count() == 0
        # Every form field has a label; every decision button is reachable by keyboard.
        for field in ("#comment", "#edited_answer"):
            assert await page.locator(f'label[for="{field[1:]}"]').count() == 1
        await page.locator("#comment").focus()
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Approve", exact=True)).to_be_focused()
    finally:
        await page.close()


async def test_the_verify_chain_button_shows_the_head_hash_and_the_result(stack, reviewers):
    await stack.escalated("Summarise the audit committee minutes.")
    page = await reviewers.page()
    try:
        await page.goto(stack.url + "queue")
        await page.get_by_role("link", name="Audit chain").click()
        await page.get_by_role("button", name="Verify chain").click()
        await expect(page.locator("#verdict h2")).to_have_text("Chain intact")
        verdict = await stack.call("VerifyAuditTrail", C.VerifyAuditTrailRequest(), "acme-reviewer")
        assert verdict.valid
        shown_head = await page.locator("#head-hash").inner_text()
        shown_count = int(await page.locator("#events-checked").inner_text())
        # Events may have been added between the two checks; the chain only grows.
        assert shown_count <= verdict.events_checked and len(shown_head) == 64
    finally:
        await page.close()

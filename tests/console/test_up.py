"""The first hour of a reviewer: `agentplane up` prints the console's link, the key from the
credentials file signs in, and a review is resolved in the browser."""

from __future__ import annotations

import tomllib

import pytest
from playwright.async_api import expect

from agentplane.rpc import ServiceChannel, unary
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from agentplane.v1 import controller_pb2_grpc

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="package")]


async def test_the_printed_link_and_the_credentials_file_key_resolve_a_review(platform, browser):
    assert platform.up_line.endswith(f", review console {platform.console_url}")
    credentials = platform.data_dir / "credentials.toml"
    key = tomllib.loads(credentials.read_text())["keys"]["acme-reviewer"]["key"]
    async with ServiceChannel([platform.address("controller")], api_key=platform.key("acme-user")) as channel:
        stub = controller_pb2_grpc.TaskControllerStub(channel.channel)
        request = C.SubmitTaskRequest(text="Approve a transfer of 2,400 EUR to Initech.", task_type="payment_approval")
        task = await unary(stub.SubmitTask, request, timeout_s=60)
        assert task.state == C.TASK_STATE_NEEDS_REVIEW, task

        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(platform.console_url)
            assert page.url == platform.console_url + "signin"
            await page.get_by_label("Reviewer API key").fill(key)
            await page.get_by_role("button", name="Sign in").click()
            await page.locator(f'tr[data-review-id="{task.review_id}"] a').click()
            await page.get_by_label("Comment").fill("invoice INV-2211 checked")
            await page.get_by_role("button", name="Approve", exact=True).click()
            await expect(page.locator("#review-state")).to_have_text("APPROVED")
        finally:
            await context.close()
        done = await unary(stub.GetTask, C.GetTaskRequest(task_id=task.task_id))
    assert done.state == C.TASK_STATE_COMPLETED and done.result.reviewed

"""The controller MCP server over stdio and streamable HTTP, against the real controller and services."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.mcp.conftest import Platform, error_text, structured

pytestmark = pytest.mark.asyncio(loop_scope="package")

TOOLS = {"submit_task", "get_task", "list_reviews", "resolve_review", "audit_trail"}
SETTLED = {"completed", "needs_review", "needs_clarification", "failed"}


async def _tour(submitter: Client, reviewer: Client, tag: str) -> None:
    listed = {t.name: t for t in (await submitter.list_tools()).tools}
    assert set(listed) == TOOLS
    resolve = listed["resolve_review"].annotations
    assert resolve is not None and resolve.destructive_hint and not resolve.read_only_hint
    assert listed["audit_trail"].annotations is not None and listed["audit_trail"].annotations.read_only_hint

    general = structured(
        await submitter.call_tool(
            "submit_task", {"text": "Say hello to the team", "task_type": "general", "idempotency_key": f"g-{tag}"}
        )
    )
    assert general["state"] in SETTLED and general["route"] == "llm"
    again = structured(await submitter.call_tool("get_task", {"task_id": general["task_id"]}))
    assert again["task_id"] == general["task_id"] and again["state"] == general["state"]

    payment = structured(
        await submitter.call_tool(
            "submit_task",
            {"text": "Approve the payment of 120 EUR to Initech", "task_type": "payment_approval",
             "idempotency_key": f"p-{tag}"},
        )
    )  # fmt: skip
    assert payment["state"] == "needs_review" and payment["review_id"]
    pending = structured(await reviewer.call_tool("list_reviews", {}))
    assert payment["review_id"] in {r["review_id"] for r in pending["reviews"]}

    decided = structured(
        await reviewer.call_tool(
            "resolve_review", {"review_id": payment["review_id"], "decision": "approve", "comment": f"ok {tag}"}
        )
    )
    assert decided["review"]["state"] == "approved" and decided["task"]["state"] == "completed"

    trail = structured(await submitter.call_tool("audit_trail", {"task_id": payment["task_id"]}))
    actions = [e["action"] for e in trail["events"]]
    assert "downstream.call" in actions and "review.resolved" in actions
    assert [e["sequence"] for e in trail["events"]] == sorted(e["sequence"] for e in trail["events"])


async def test_stdio_lists_and_calls_every_tool(platform: Platform) -> None:
    async with platform.stdio_client("controller", "acme-reviewer") as client:
        await _tour(client, client, "stdio")


async def test_http_lists_and_calls_every_tool_with_each_callers_key(platform: Platform) -> None:
    async with (
        platform.http_client("controller", "acme-user") as user,
        platform.http_client("controller", "acme-reviewer") as reviewer,
    ):
        await _tour(user, reviewer, "http")


async def test_roles_and_tenants_of_the_caller_apply(platform: Platform) -> None:
    async with platform.http_client("controller", "acme-user") as user:
        payment = structured(
            await user.call_tool(
                "submit_task", {"text": "Approve the payment of 9 EUR to Hooli", "task_type": "payment_approval"}
            )
        )
        denied = error_text(
            await user.call_tool("resolve_review", {"review_id": payment["review_id"], "decision": "approve"})
        )
        assert "PERMISSION_DENIED" in denied and "reviewer" in denied
        assert "decision" in error_text(await user.call_tool("resolve_review", {"review_id": "r", "decision": "maybe"}))
    async with platform.http_client("controller", "globex-user") as other:
        assert "NOT_FOUND" in error_text(await other.call_tool("get_task", {"task_id": payment["task_id"]}))

"""The controller as an MCP client: external servers' tools, allow-lists, errors, deadlines, audit."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agentplane import request_context
from agentplane.errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from controller.adapters.mcp_tools import ExternalTools
from controller.config import ExternalToolServerSettings, PolicySettings, TenantPolicy
from tests.mcp.conftest import EXTERNAL_SERVER, Platform, structured
from tests.support.keys import raw_key

pytestmark = pytest.mark.asyncio(loop_scope="package")


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def tools(platform: Platform) -> AsyncIterator[ExternalTools]:
    """ext (stdio, the test server) and web (our realtime MCP server over HTTP, bearer key)."""
    servers = {
        "ext": ExternalToolServerSettings(command=(sys.executable, str(EXTERNAL_SERVER)), timeout_s=60.0),
        "web": ExternalToolServerSettings(
            url=platform.mcp_urls["realtime"], headers={"Authorization": f"Bearer {raw_key('acme-user')}"}
        ),
        "down": ExternalToolServerSettings(url="http://127.0.0.1:9/mcp", timeout_s=5.0),
    }
    policy = PolicySettings(
        tenants={"acme": TenantPolicy(external_tools=("ext.*", "web.fetch_page", "down.*")), "globex": TenantPolicy()}
    )
    external = ExternalTools(servers, policy)
    await external.start()
    try:
        yield external
    finally:
        await external.aclose()


async def test_tools_are_namespaced_and_filtered_by_the_tenants_allow_list(tools: ExternalTools) -> None:
    acme = {spec.name: spec for spec in tools.tools_for("acme")}
    assert {"ext.word_count", "ext.shout", "ext.refuse", "web.fetch_page"} <= set(acme)
    assert "web.extract" not in acme and not any(name.startswith("down.") for name in acme)
    assert acme["ext.word_count"].parameters_schema["properties"]["text"]["type"] == "string"
    assert tools.tools_for("globex") == []


async def test_calls_return_structured_or_text_results_with_call_info(tools: ExternalTools, platform: Platform) -> None:
    counted, info = await tools.call("acme", "ext.word_count", {"text": "one two three"})
    assert counted == {"words": 3, "characters": 13}
    assert (info.service, info.method, info.outcome, info.attempts) == ("mcp:ext", "word_count", "ok", 1)
    assert info.detail["transport"] == "stdio"
    shouted, _ = await tools.call("acme", "ext.shout", {"text": "hey"})
    assert shouted == {"text": "HEY"}
    page, web_info = await tools.call("acme", "web.fetch_page", {"url": platform.site.url("/page/policy.html")})
    assert page["title"] == "Returns policy" and web_info.detail["transport"] == "http"


async def test_refused_before_any_call_when_not_allowed(tools: ExternalTools) -> None:
    before, _ = await tools.call("acme", "ext.calls_seen", {})
    with pytest.raises(PermissionDeniedError, match=r"may not use external tool 'ext\.word_count'") as refused:
        await tools.call("globex", "ext.word_count", {"text": "x"})
    assert refused.value.call_info.outcome == "denied"  # type: ignore[attr-defined]
    with pytest.raises(PermissionDeniedError):
        await tools.call("acme", "web.extract", {"url": "http://127.0.0.1:1/"})
    after, _ = await tools.call("acme", "ext.calls_seen", {})
    assert after == before


async def test_errors_map_to_agentplane_errors(tools: ExternalTools) -> None:
    with pytest.raises(FailedPreconditionError, match="refused: no way") as failed:
        await tools.call("acme", "ext.refuse", {"reason": "no way"})
    assert failed.value.call_info.outcome == "error"  # type: ignore[attr-defined]
    with pytest.raises(NotFoundError, match="no tool 'nope'"):
        await tools.call("acme", "ext.nope", {})
    with pytest.raises(UnavailableError, match="'down' is unreachable"):
        await tools.call("acme", "down.anything", {})


async def test_the_task_deadline_bounds_a_call_and_the_connection_survives(tools: ExternalTools) -> None:
    with request_context.deadline_scope(0.5), pytest.raises(DeadlineExceededError, match="did not answer"):
        await tools.call("acme", "ext.wait_forever", {})
    counted, _ = await tools.call("acme", "ext.word_count", {"text": "still here"})
    assert counted["words"] == 2


async def test_controller_routes_tool_tasks_and_audits_every_call(platform: Platform) -> None:
    task = {
        "text": "count",
        "task_type": "tool:ext.word_count",
        "metadata": {"arguments": json.dumps({"text": "a b c d"})},
    }
    async with platform.http_client("controller", "acme-user") as acme:
        done = structured(await acme.call_tool("submit_task", task))
        assert done["state"] == "completed" and done["route"] == "external_tool"
        assert json.loads(done["answer"]) == {"words": 4, "characters": 7}
        trail = structured(await acme.call_tool("audit_trail", {"task_id": done["task_id"]}))
    calls = [e["details"] for e in trail["events"] if e["action"] == "downstream.call"]
    assert [(c["service"], c["method"], c["outcome"]) for c in calls] == [("mcp:ext", "word_count", "ok")]

    async with platform.http_client("controller", "globex-user") as globex:
        refused = structured(await globex.call_tool("submit_task", task))
        assert refused["state"] != "completed"
        assert refused["steps"][0]["status"] == "failed" and "may not use" in refused["steps"][0]["error"]
        trail = structured(await globex.call_tool("audit_trail", {"task_id": refused["task_id"]}))
    calls = [e["details"] for e in trail["events"] if e["action"] == "downstream.call"]
    assert [(c["service"], c["outcome"]) for c in calls] == [("mcp:ext", "denied")]

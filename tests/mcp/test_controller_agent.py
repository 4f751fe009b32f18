"""Agent-loop mode: the LLM plans with the capabilities (and allowed external tools) as tools."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agentplane.rpc import ServiceChannel, ServiceHost, unary
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from agentplane.v1 import controller_pb2_grpc
from controller.server import build_controller
from tests.mcp.conftest import Platform, _controller_settings
from tests.support.keys import raw_key

pytestmark = pytest.mark.asyncio(loop_scope="package")

ARTICLE = "Shares in the retailer jumped 9% after it reported record half-year profits and raised its dividend."


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def agent_controller(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A second controller, in agent mode, on the same services."""
    base = _controller_settings(tmp_path_factory.mktemp("agent"), platform.addresses)
    settings = base.model_copy(update={"agent": base.agent.model_copy(update={"enabled": True, "max_steps": 3})})
    controller: ServiceHost = build_controller(settings)
    port = await controller.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await controller.stop()


async def _submit(address: str, text: str, key: str = "acme-user") -> C.Task:
    async with ServiceChannel([address], api_key=raw_key(key)) as channel:
        stub = controller_pb2_grpc.TaskControllerStub(channel.channel)
        return await unary(stub.SubmitTask, C.SubmitTaskRequest(text=text, task_type="agent"), timeout_s=60)


async def _trail(address: str, task_id: str) -> list[C.AuditEvent]:
    async with ServiceChannel([address], api_key=raw_key("acme-user")) as channel:
        stub = controller_pb2_grpc.TaskControllerStub(channel.channel)
        return list((await unary(stub.GetAuditTrail, C.GetAuditTrailRequest(task_id=task_id))).events)


async def test_the_llm_calls_a_builtin_capability_and_answers(agent_controller):
    args = json.dumps({"text": ARTICLE})
    task = await _submit(agent_controller, f"What topic is this? [[call:classify_text {args}]]")
    assert task.result.route == C.ROUTE_AGENT, task
    assert [s.capability for s in task.result.steps] == [C.CAPABILITY_LLM_COMPLETE, C.CAPABILITY_DOMAIN_CLASSIFY]
    tool_step = task.result.steps[1]
    assert tool_step.status == C.STEP_STATUS_SUCCEEDED and '"label": "business"' in tool_step.summary
    assert {c.name for c in task.result.confidence.components} == {"step:s1", "step:s1.1.1"}
    calls = [
        json.loads(e.details_json)
        for e in await _trail(agent_controller, task.task_id)
        if e.action == "downstream.call"
    ]
    assert {(c["service"], c["method"]) for c in calls} >= {("gateway", "Complete"), ("domain_inference", "Classify")}


async def test_allowed_external_tools_are_offered_under_function_safe_names(agent_controller):
    task = await _submit(agent_controller, 'Count please. [[call:ext_word_count {"text": "one two three"}]]')
    tool_step = task.result.steps[1]
    assert tool_step.capability == C.CAPABILITY_EXTERNAL_TOOL and tool_step.target == "ext.word_count"
    assert tool_step.status == C.STEP_STATUS_SUCCEEDED and "3" in tool_step.summary


async def test_tools_the_tenant_may_not_use_are_never_offered(agent_controller):
    task = await _submit(agent_controller, 'Count. [[call:ext_word_count {"text": "a b"}]]', key="globex-user")
    # globex has no external tools: the LLM was not offered ext_word_count, so it answered directly.
    assert [s.capability for s in task.result.steps] == [C.CAPABILITY_LLM_COMPLETE]

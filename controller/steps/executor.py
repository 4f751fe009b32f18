"""Dispatches a plan to its route's executor.

Layer: controller domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from controller.capabilities import DomainCapability, LLMCapability, RealtimeCapability, ToolCapability
from controller.config import ControllerSettings
from controller.models import Confidence, Plan, Route, Task
from controller.steps.agent import run_agent, run_external_tool
from controller.steps.base import RouteOutcome, StepContext, StepHooks
from controller.steps.domain import run_domain
from controller.steps.llm import run_llm
from controller.steps.realtime import run_realtime
from controller.store.base import Store

__all__ = ["Executor"]


class Executor:
    """Runs plans against the capabilities.

    Args:
        settings: Controller settings.
        domain: Domain inference.
        llm: The LLM gateway.
        realtime: Real-time data.
        tools: External MCP tools (None when none are configured).
        store: For real-time snapshots.
    """

    def __init__(
        self,
        settings: ControllerSettings,
        *,
        domain: DomainCapability,
        llm: LLMCapability,
        realtime: RealtimeCapability,
        tools: ToolCapability | None,
        store: Store,
    ) -> None:
        self._settings = settings
        self._domain = domain
        self._llm = llm
        self._realtime = realtime
        self._tools = tools
        self._store = store

    async def run(self, task: Task, plan: Plan, history: Sequence[Task], hooks: StepHooks) -> RouteOutcome:
        """Execute `plan` for `task`; never raises for downstream failures (they lower confidence)."""
        ctx = StepContext(task, self._settings, hooks)
        if plan.route is Route.DOMAIN:
            return await run_domain(ctx, plan.steps[0], self._domain, self._llm)
        if plan.route is Route.LLM:
            return await run_llm(ctx, plan.steps[0], self._llm, history)
        if plan.route in (Route.REALTIME, Route.REALTIME_LLM):
            if not plan.steps:
                return RouteOutcome("", Confidence(0.0), missing_inputs=["url"])
            llm = self._llm if plan.route is Route.REALTIME_LLM else None
            return await run_realtime(ctx, plan.steps, self._realtime, llm, self._store, history)
        if plan.route is Route.AGENT:
            return await run_agent(ctx, plan.steps[0], self._llm, self._domain, self._realtime, self._tools, history)
        return await run_external_tool(ctx, plan.steps[0], self._tools)

"""AGENT route (the LLM plans with the capabilities as tools) and EXTERNAL_TOOL route.

Layer: controller domain. The agent loop is bounded by steps and tokens; every
tool call is a step of its own (recorded, audited, scored), and the answer's
confidence is the product of the final answer's and every tool step's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentplane.errors import AgentplaneError, PermissionDeniedError
from controller.capabilities import (
    ChatTurn,
    CompletionIn,
    DomainCapability,
    LLMCapability,
    RealtimeCapability,
    ToolCallOut,
    ToolCapability,
    ToolSpec,
)
from controller.confidence import combine, domain_confidence, llm_confidence, realtime_confidence
from controller.models import Capability, Component, Confidence, PlanStep, StepStatus, Task, UsageTotals
from controller.steps.base import RouteOutcome, StepContext, StepRun, call_info_of
from controller.steps.llm import history_turns, run_llm

__all__ = ["BUILTIN_TOOLS", "run_agent", "run_external_tool"]

BUILTIN_TOOLS = (
    ToolSpec(
        "classify_text",
        "Classify a text into a news topic (business, entertainment, politics, sport, tech) "
        "with a calibrated probability.",
        {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    ),
    ToolSpec(
        "fetch_page",
        "Fetch a web page and return its title and text.",
        {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    ),
)
_AGENT_PROMPT = (
    "You solve the user's task. Use the tools when they help; call at most a few. "
    "When you have the answer, reply with it directly."
)


async def _call_tool(
    ctx: StepContext,
    call: ToolCallOut,
    step_id: str,
    domain: DomainCapability,
    realtime: RealtimeCapability,
    tools: ToolCapability | None,
) -> tuple[str, Confidence, Any]:
    cap = Capability.EXTERNAL_TOOL
    if call.name == "classify_text":
        cap = Capability.DOMAIN_CLASSIFY
    elif call.name == "fetch_page":
        cap = Capability.REALTIME_FETCH
    step = PlanStep(step_id, cap, call.name, (), "tool call requested by the LLM")
    async with StepRun(step, ctx.hooks) as run:
        try:
            args = json.loads(call.arguments_json or "{}")
            if call.name == "classify_text":
                outs, info = await domain.classify(ctx.settings.domain_model, [str(args["text"])])
                run.calls.append(info)
                o = outs[0]
                conf = domain_confidence(
                    o.probabilities.get(o.label, o.confidence),
                    out_of_domain=o.out_of_domain,
                    ood_score=o.ood_score,
                    ood_threshold=o.ood_threshold,
                    truncated=o.truncated,
                    degradations=o.degradations,
                    settings=ctx.settings.confidence,
                )
                text = json.dumps(
                    {
                        "label": o.label,
                        "probability": round(o.probabilities.get(o.label, 0), 4),
                        "out_of_domain": o.out_of_domain,
                    }
                )
            elif call.name == "fetch_page":
                page = await realtime.fetch(str(args["url"]), max_length=4000)
                if page.call:
                    run.calls.append(page.call)
                conf = realtime_confidence(
                    completeness=1.0 if page.text else 0.3,
                    age_s=page.age_s,
                    ttl_s=3600.0,
                    injection_flagged=page.injection_flagged,
                    injection_score=page.injection_score,
                    from_snapshot=False,
                    degradations=(),
                    settings=ctx.settings.confidence,
                )
                text = f"{page.title}\n{page.text}"
            else:
                if tools is None:
                    raise PermissionDeniedError(f"unknown tool {call.name!r}")
                result, info = await tools.call(ctx.task.tenant, call.name, args)
                run.calls.append(info)
                server = call.name.split(".", 1)[0]
                trust = ctx.settings.external_tools[server].confidence if server in ctx.settings.external_tools else 0.5
                conf = Confidence(
                    trust, (Component("external_tool_trust", trust, 1.0, f"configured trust of {server}"),)
                )
                text = json.dumps(result)[:4000]
        except (AgentplaneError, KeyError, ValueError) as exc:
            message = exc.message if isinstance(exc, AgentplaneError) else f"bad arguments: {exc}"
            if isinstance(exc, AgentplaneError):
                run.calls.append(call_info_of(exc, "tool", call.name))
            result_step = await run.finish(StepStatus.FAILED, error=message)
            return f"error: {message}", Confidence(0.5, (Component("tool_failed", 0.5, 1.0, message),)), result_step
        result_step = await run.finish(StepStatus.SUCCEEDED, summary=text, confidence=conf)
    return text, conf, result_step


async def run_agent(
    ctx: StepContext,
    step: PlanStep,
    llm: LLMCapability,
    domain: DomainCapability,
    realtime: RealtimeCapability,
    tools: ToolCapability | None,
    history: Sequence[Task],
) -> RouteOutcome:
    """The bounded agent loop; without a tool-calling deployment the task is answered as LLM."""
    cfg = ctx.settings.agent
    if not cfg.enabled:
        return await run_llm(ctx, step, llm, history)
    specs = (*BUILTIN_TOOLS, *(tools.tools_for(ctx.task.tenant) if tools else ()))
    messages = [ChatTurn("system", _AGENT_PROMPT), *history_turns(history, ctx.settings.llm.session_turns)]
    messages.append(ChatTurn("user", ctx.task.text))
    outcome = RouteOutcome("", Confidence(0.0))
    usage, scored = UsageTotals(), []
    async with StepRun(step, ctx.hooks) as run:
        final = None
        for turn in range(cfg.max_steps):
            spent = usage.input_tokens + usage.output_tokens
            if spent >= cfg.max_tokens_total:
                break
            try:
                out = await llm.complete(
                    CompletionIn(
                        model=cfg.model,
                        messages=tuple(messages),
                        max_tokens=min(ctx.settings.llm.max_tokens, cfg.max_tokens_total - spent),
                        logprobs=ctx.settings.llm.use_logprobs,
                        top_logprobs=1 if ctx.settings.llm.use_logprobs else 0,
                        sensitivity=ctx.task.sensitivity,
                        tools=specs,
                    )
                )
            except AgentplaneError as exc:
                run.calls.append(call_info_of(exc, "gateway", "Complete"))
                break
            run.calls.append(out.call)
            usage = usage + out.usage
            if not out.tool_calls:
                final = out
                break
            messages.append(ChatTurn("assistant", out.text, tool_calls=out.tool_calls))
            for n, call in enumerate(out.tool_calls[:4]):
                text, conf, result = await _call_tool(
                    ctx, call, f"{step.step_id}.{turn + 1}.{n + 1}", domain, realtime, tools
                )
                outcome.steps.append(result)
                scored.append((result.step_id, conf))
                messages.append(ChatTurn("tool", text, tool_call_id=call.id))
        if final is None:
            confidence = Confidence(0.0, (Component("no_final_answer", 0.0, 1.0, "step or token budget exhausted"),))
            outcome.steps.insert(0, await run.finish(StepStatus.FAILED, error="agent loop ended without an answer"))
            outcome.confidence, outcome.usage = confidence, usage
            return outcome
        answer_conf = llm_confidence(
            token_logprobs=final.token_logprobs,
            sample_agreement=None,
            samples=1,
            hit_max_tokens=final.finish_reason == "length",
            degradations=(),
            settings=ctx.settings.confidence,
        )
        outcome.steps.insert(0, await run.finish(StepStatus.SUCCEEDED, summary=final.text, confidence=answer_conf))
    outcome.answer, outcome.usage = final.text.strip(), usage
    outcome.confidence = combine([(step.step_id, answer_conf), *scored])
    outcome.data = {"tool_calls": len(scored)}
    return outcome


async def run_external_tool(ctx: StepContext, step: PlanStep, tools: ToolCapability | None) -> RouteOutcome:
    """Call one external MCP tool named by the task type ("tool:server.tool").

    Raises:
        PermissionDeniedError: No such tool, or the tenant may not use it.
    """
    if tools is None:
        raise PermissionDeniedError(f"no external tool servers are configured (asked for {step.target!r})")
    raw = ctx.task.request.metadata.get("arguments")
    args: dict[str, Any] = json.loads(raw) if raw else {"text": ctx.task.text}
    call = ToolCallOut("direct", step.target, json.dumps(args))
    text, conf, result = await _call_tool(ctx, call, step.step_id, _NoDomain(), _NoRealtime(), tools)
    return RouteOutcome(text, conf, [result], {"tool": step.target})


class _NoDomain:
    async def classify(self, model: str, texts: Sequence[str]) -> Any:
        raise PermissionDeniedError("not a domain call")

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise PermissionDeniedError("not a domain call")


class _NoRealtime:
    async def fetch(self, url: str, *, max_length: int) -> Any:
        raise PermissionDeniedError("not a realtime call")

    async def extract(self, url: str, schema: dict[str, Any]) -> Any:
        raise PermissionDeniedError("not a realtime call")

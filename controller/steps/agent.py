"""AGENT route (the LLM plans with the capabilities as tools) and EXTERNAL_TOOL route.

Layer: controller domain. The agent loop is bounded by steps and tokens; every
tool call is a step of its own (recorded, audited, scored), and the answer's
confidence is the product of the final answer's and every tool step's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentplane.errors import AgentplaneError, PermissionDeniedError
from controller.capabilities import (
    ChatTurn,
    CompletionIn,
    DomainCapability,
    LLMCapability,
    RealtimeCapability,
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


@dataclass(frozen=True)
class _Toolbox:
    """What tool calls can reach."""

    domain: DomainCapability | None
    realtime: RealtimeCapability | None
    tools: ToolCapability | None


async def _builtin(
    ctx: StepContext, run: StepRun, name: str, args: dict[str, Any], box: _Toolbox
) -> tuple[str, Confidence]:
    if name == "classify_text" and box.domain is not None:
        outs, info = await box.domain.classify(ctx.settings.domain_model, [str(args["text"])])
        run.calls.append(info)
        o = outs[0]
        conf = domain_confidence(
            o.probabilities.get(o.label, o.confidence),
            gated_confidence=o.confidence,
            out_of_domain=o.out_of_domain,
            ood_score=o.ood_score,
            ood_threshold=o.ood_threshold,
            truncated=o.truncated,
            degradations=o.degradations,
            settings=ctx.settings.confidence,
        )
        probability = round(o.probabilities.get(o.label, 0), 4)
        return json.dumps({"label": o.label, "probability": probability, "out_of_domain": o.out_of_domain}), conf
    if name == "fetch_page" and box.realtime is not None:
        page = await box.realtime.fetch(str(args["url"]), max_length=4000)
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
        return f"{page.title}\n{page.text}", conf
    if box.tools is None:
        raise PermissionDeniedError(f"unknown tool {name!r}")
    result, info = await box.tools.call(ctx.task.tenant, name, args)
    run.calls.append(info)
    server = name.split(".", 1)[0]
    trust = ctx.settings.external_tools[server].confidence if server in ctx.settings.external_tools else 0.5
    conf = Confidence(trust, (Component("external_tool_trust", trust, 1.0, f"configured trust of {server}"),))
    return json.dumps(result)[:4000], conf


async def _call_tool(
    ctx: StepContext, name: str, arguments_json: str, step_id: str, box: _Toolbox
) -> tuple[str, Confidence, Any]:
    cap = {"classify_text": Capability.DOMAIN_CLASSIFY, "fetch_page": Capability.REALTIME_FETCH}.get(
        name, Capability.EXTERNAL_TOOL
    )
    step = PlanStep(step_id, cap, name, (), "tool call")
    async with StepRun(step, ctx.hooks) as run:
        try:
            args = json.loads(arguments_json or "{}")
            text, conf = await _builtin(ctx, run, name, args, box)
        except (AgentplaneError, KeyError, ValueError) as exc:
            message = exc.message if isinstance(exc, AgentplaneError) else f"bad arguments: {exc}"
            if isinstance(exc, AgentplaneError):
                run.calls.append(call_info_of(exc, "tool", name))
            result_step = await run.finish(StepStatus.FAILED, error=message)
            return f"error: {message}", Confidence(0.5, (Component("tool_failed", 0.5, 1.0, message),)), result_step
        result_step = await run.finish(StepStatus.SUCCEEDED, summary=text, confidence=conf)
    return text, conf, result_step


def _llm_names(specs: Sequence[ToolSpec]) -> tuple[tuple[ToolSpec, ...], dict[str, str]]:
    """Tool specs renamed to what function-calling APIs accept (^[a-zA-Z0-9_-]{1,64}$), and the way back."""
    renamed, back = [], {}
    for spec in specs:
        base = re.sub(r"[^a-zA-Z0-9_-]", "_", spec.name)[:60] or "tool"
        name, n = base, 1
        while name in back:
            n += 1
            name = f"{base}_{n}"
        back[name] = spec.name
        renamed.append(ToolSpec(name, spec.description, spec.parameters_schema))
    return tuple(renamed), back


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
    specs, real_names = _llm_names((*BUILTIN_TOOLS, *(tools.tools_for(ctx.task.tenant) if tools else ())))
    box = _Toolbox(domain, realtime, tools)
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
                name = real_names.get(call.name, call.name)
                text, conf, result = await _call_tool(
                    ctx, name, call.arguments_json, f"{step.step_id}.{turn + 1}.{n + 1}", box
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
    arguments = raw if raw else json.dumps({"text": ctx.task.text})
    text, conf, result = await _call_tool(ctx, step.target, arguments, step.step_id, _Toolbox(None, None, tools))
    return RouteOutcome(text, conf, [result], {"tool": step.target})

"""LLM route: answer with the gateway, scored by token logprobs or k-sample agreement.

Layer: controller domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentplane.errors import AgentplaneError
from controller.capabilities import ChatTurn, CompletionIn, CompletionOut, LLMCapability
from controller.confidence import agreement, llm_confidence
from controller.models import Component, Confidence, Degradation, PlanStep, StepStatus, Task, TaskState, UsageTotals
from controller.steps.base import RouteOutcome, StepContext, StepRun, call_info_of

__all__ = ["ask_llm", "history_turns", "run_llm"]


def history_turns(history: Sequence[Task], max_turns: int) -> list[ChatTurn]:
    """Earlier completed turns of the session as chat messages (oldest first)."""
    turns: list[ChatTurn] = []
    done = [t for t in history if t.state is TaskState.COMPLETED and t.result is not None and t.text_retained]
    for task in done[-max_turns:] if max_turns else []:
        assert task.result is not None
        turns += [ChatTurn("user", task.text), ChatTurn("assistant", task.result.answer)]
    return turns


async def ask_llm(
    ctx: StepContext,
    run: StepRun,
    llm: LLMCapability,
    messages: list[ChatTurn],
    degradations: Sequence[Degradation] = (),
) -> tuple[CompletionOut, Confidence, UsageTotals]:
    """One answer with its confidence: logprobs when the deployment gives them, else k-sample agreement.

    Raises:
        AgentplaneError: The gateway failed (the CallInfo is recorded on `run`).
    """
    cfg = ctx.settings.llm
    base = CompletionIn(
        model=cfg.model,
        messages=tuple(messages),
        max_tokens=cfg.max_tokens,
        temperature=0.0,
        logprobs=cfg.use_logprobs,
        top_logprobs=1 if cfg.use_logprobs else 0,
        sensitivity=ctx.task.sensitivity,
        metadata={"task_id": ctx.task.task_id},
    )
    try:
        first = await llm.complete(base)
    except AgentplaneError as exc:
        run.calls.append(call_info_of(exc, "gateway", "Complete"))
        raise
    run.calls.append(first.call)
    usage = first.usage
    chosen, share, k = first, None, 1
    if not first.token_logprobs and cfg.samples > 1:
        outs = [first]
        for i in range(1, cfg.samples):
            sample = CompletionIn(
                **{
                    **base.__dict__,
                    "temperature": cfg.sample_temperature,
                    "seed": 1000 + i,
                    "logprobs": False,
                    "top_logprobs": 0,
                }
            )
            try:
                out = await llm.complete(sample)
            except AgentplaneError as exc:
                run.calls.append(call_info_of(exc, "gateway", "Complete"))
                continue
            run.calls.append(out.call)
            usage = usage + out.usage
            outs.append(out)
        index, share = agreement([o.text for o in outs])
        chosen, k = outs[index], len(outs)
    confidence = llm_confidence(
        token_logprobs=chosen.token_logprobs,
        sample_agreement=share,
        samples=k,
        hit_max_tokens=chosen.finish_reason == "length",
        degradations=degradations,
        settings=ctx.settings.confidence,
    )
    if not chosen.text.strip():
        confidence = Confidence(
            0.0, (*confidence.components, Component("empty_answer", 0.0)), "the LLM answered nothing"
        )
    return chosen, confidence, usage


async def run_llm(ctx: StepContext, step: PlanStep, llm: LLMCapability, history: Sequence[Task]) -> RouteOutcome:
    """Answer a general task; when the gateway is down the task goes to review with no answer."""
    cfg = ctx.settings.llm
    messages = [ChatTurn("system", cfg.system_prompt), *history_turns(history, cfg.session_turns)]
    messages.append(ChatTurn("user", ctx.task.text))
    async with StepRun(step, ctx.hooks) as run:
        try:
            out, confidence, usage = await ask_llm(ctx, run, llm, messages)
        except AgentplaneError as exc:
            degradation = Degradation("gateway", f"unavailable: {exc.message}", 0.0)
            confidence = Confidence(
                0.0, (Component("no_answer", 0.0, 1.0, "the LLM gateway is unavailable"),), "no answer"
            )
            result = await run.finish(StepStatus.FAILED, error=exc.message, degradations=(degradation,))
            return RouteOutcome("", confidence, [result], {}, [degradation])
        result = await run.finish(StepStatus.SUCCEEDED, summary=out.text, confidence=confidence)
    data = {
        "model": out.model,
        "deployment": out.deployment,
        "finish_reason": out.finish_reason,
        "cache_hit": out.cache_hit,
    }
    return RouteOutcome(out.text.strip(), confidence, [result], data, usage=usage)

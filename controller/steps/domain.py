"""DOMAIN route: classify with the domain model; the LLM stands in when domain inference is down.

Layer: controller domain.
"""

from __future__ import annotations

import re

from agentplane.errors import AgentplaneError, Code
from controller.capabilities import ChatTurn, CompletionIn, DomainCapability, LLMCapability
from controller.confidence import domain_confidence, llm_confidence
from controller.models import Component, Confidence, Degradation, PlanStep, StepStatus
from controller.routing import strip_instruction
from controller.steps.base import RouteOutcome, StepContext, StepRun, call_info_of

__all__ = ["DEFAULT_LABELS", "run_domain"]

DEFAULT_LABELS = ("business", "entertainment", "politics", "sport", "tech")
_UNAVAILABLE = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN})


async def run_domain(ctx: StepContext, step: PlanStep, domain: DomainCapability, llm: LLMCapability) -> RouteOutcome:
    """Classify the task's text; fall back to a zero-shot LLM label when domain inference is down."""
    text = strip_instruction(ctx.task.text)[: ctx.settings.domain_max_chars]
    async with StepRun(step, ctx.hooks) as run:
        try:
            outs, info = await domain.classify(step.target, [text])
        except AgentplaneError as exc:
            run.calls.append(call_info_of(exc, "domain_inference", "Classify"))
            if exc.code not in _UNAVAILABLE:
                raise
            return await _llm_stand_in(ctx, run, text, llm, exc)
        run.calls.append(info)
        out = outs[0]
        probability = out.probabilities.get(out.label, out.confidence)
        confidence = domain_confidence(
            probability,
            gated_confidence=out.confidence,
            out_of_domain=out.out_of_domain,
            ood_score=out.ood_score,
            ood_threshold=out.ood_threshold,
            truncated=out.truncated,
            degradations=[_penalised(d, ctx) for d in out.degradations],
            settings=ctx.settings.confidence,
        )
        summary = f"{out.label} (p={probability:.3f}{', out of domain' if out.out_of_domain else ''})"
        status = StepStatus.DEGRADED if out.degradations else StepStatus.SUCCEEDED
        degradations = tuple(_penalised(d, ctx) for d in out.degradations)
        result = await run.finish(status, summary=summary, confidence=confidence, degradations=degradations)
    data = {
        "label": out.label,
        "probabilities": out.probabilities,
        "out_of_domain": out.out_of_domain,
        "ood_score": out.ood_score,
        "ood_threshold": out.ood_threshold,
        "model": out.model,
        "model_version": out.version,
        "truncated": out.truncated,
        "model_card": dict(out.card),
    }
    answer = f"Topic: {out.label}"
    return RouteOutcome(answer, confidence, [result], data, list(degradations))


def _penalised(d: Degradation, ctx: StepContext) -> Degradation:
    if d.penalty < 1.0:
        return d
    return Degradation(d.component, d.reason, ctx.settings.confidence.in_process_penalty)


async def _llm_stand_in(
    ctx: StepContext, run: StepRun, text: str, llm: LLMCapability, cause: AgentplaneError
) -> RouteOutcome:
    labels = DEFAULT_LABELS
    settings = ctx.settings
    prompt = (
        f"Classify the text into exactly one topic from: {', '.join(labels)}. "
        "Answer with the topic word only.\n\nText:\n" + text[: settings.llm.max_context_chars]
    )
    degradation = Degradation(
        "domain_inference",
        f"unavailable ({cause.message}); LLM zero-shot stand-in",
        settings.confidence.llm_fallback_penalty,
    )
    try:
        out = await llm.complete(
            CompletionIn(
                model=settings.llm.model,
                messages=(ChatTurn("system", "You label texts. Answer with one word."), ChatTurn("user", prompt)),
                max_tokens=8,
                logprobs=settings.llm.use_logprobs,
                top_logprobs=1 if settings.llm.use_logprobs else 0,
                sensitivity=ctx.task.sensitivity,
            )
        )
    except AgentplaneError as exc:
        run.calls.append(call_info_of(exc, "gateway", "Complete"))
        confidence = Confidence(
            0.0, (Component("no_capability", 0.0, 1.0, "domain inference and gateway both failed"),)
        )
        result = await run.finish(StepStatus.FAILED, error=f"{cause.message}; LLM stand-in failed: {exc.message}")
        return RouteOutcome("", confidence, [result], {}, [degradation])
    run.calls.append(out.call)
    found = re.findall(r"[a-z]+", out.text.lower())
    label = next((w for w in found if w in labels), "")
    confidence = llm_confidence(
        token_logprobs=out.token_logprobs,
        sample_agreement=None,
        samples=1,
        hit_max_tokens=False,
        degradations=[degradation],
        settings=settings.confidence,
    )
    if not label:
        confidence = Confidence(0.0, confidence.components, "the LLM stand-in gave no known label", confidence.method)
    result = await run.finish(
        StepStatus.DEGRADED,
        summary=f"{label or out.text[:40]!r} (LLM stand-in)",
        confidence=confidence,
        degradations=(degradation,),
    )
    return RouteOutcome(
        f"Topic: {label}" if label else "",
        confidence,
        [result],
        {"label": label, "stand_in": "llm", "raw": out.text[:200]},
        [degradation],
        usage=out.usage,
    )

"""REALTIME and REALTIME_LLM routes: fetch or extract pages, then optionally answer from them.

Layer: controller domain. When the realtime service is down, the controller's own
last snapshot of the page answers with a staleness penalty. A page that cannot be
used (SSRF guard, robots.txt, bad URL, wrong content type) turns into a question
back to the submitter: which other page should be checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agentplane.errors import AgentplaneError, Code
from controller.capabilities import ChatTurn, ExtractOut, FetchOut, LLMCapability, RealtimeCapability
from controller.confidence import VOLATILITY_TTL_S, combine, realtime_confidence
from controller.models import Component, Confidence, Degradation, PlanStep, StepStatus, Task, utcnow
from controller.steps.base import RouteOutcome, StepContext, StepRun, call_info_of
from controller.steps.llm import ask_llm, history_turns
from controller.store.base import Snapshot, Store

__all__ = ["run_realtime"]

_DOWN = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN})
_PAGE_CHARS = 20_000

# What a result keeps of each page (reviewers see it as evidence).
_PAGE_EVIDENCE = (
    "url",
    "title",
    "data",
    "completeness",
    "age_s",
    "from_snapshot",
    "injection_flagged",
    "injection_score",
)


def _ttl(task: Task) -> float:
    volatility = task.request.metadata.get("volatility", "HOURS").upper()
    return VOLATILITY_TTL_S.get(volatility, VOLATILITY_TTL_S["HOURS"])


def _format_data(data: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in data.items() if v not in (None, "", []))


async def _one(
    ctx: StepContext, step: PlanStep, realtime: RealtimeCapability, store: Store
) -> tuple[dict[str, Any], Confidence, list[str], str, Any]:
    """Run one fetch/extract step. Returns (page facts, confidence, missing fields, error, step result)."""
    task, url = ctx.task, step.target
    schema = task.request.schema
    async with StepRun(step, ctx.hooks) as run:
        from_snapshot = False
        degradations: tuple[Degradation, ...] = ()
        try:
            out: FetchOut | ExtractOut = (
                await realtime.extract(url, schema) if schema else await realtime.fetch(url, max_length=_PAGE_CHARS)
            )
            if out.call:
                run.calls.append(out.call)
            facts = _facts(out)
            await store.put_snapshot(Snapshot(task.tenant, url, out.fetched_at, facts))
        except AgentplaneError as exc:
            run.calls.append(call_info_of(exc, "realtime", "Extract" if schema else "Fetch"))
            if exc.code not in _DOWN:
                result = await run.finish(StepStatus.FAILED, error=f"{exc.code.name}: {exc.message}")
                return {}, Confidence(0.0), [], f"{url} cannot be used ({exc.message})", result
            snapshot = await store.get_snapshot(task.tenant, url)
            if snapshot is None:
                degradation = Degradation("realtime", f"unavailable ({exc.message}); no snapshot of {url}", 0.0)
                result = await run.finish(StepStatus.FAILED, error=exc.message, degradations=(degradation,))
                return {}, Confidence(0.0, (Component("no_data", 0.0),), "no data"), [], "", result
            facts, from_snapshot = snapshot.data, True
            degradations = (Degradation("realtime", f"unavailable ({exc.message}); last snapshot used", 1.0),)
        fetched_at = datetime.fromisoformat(facts["fetched_at"])
        age = max(0.0, (utcnow() - fetched_at.astimezone(UTC)).total_seconds()) if from_snapshot else facts["age_s"]
        confidence = realtime_confidence(
            completeness=facts["completeness"],
            age_s=age,
            ttl_s=_ttl(task),
            injection_flagged=facts["injection_flagged"],
            injection_score=facts["injection_score"],
            from_snapshot=from_snapshot,
            degradations=(),
            settings=ctx.settings.confidence,
        )
        facts = {**facts, "age_s": age, "from_snapshot": from_snapshot}
        status = StepStatus.DEGRADED if from_snapshot else StepStatus.SUCCEEDED
        summary = _format_data(facts["data"]) if schema else f"{facts['title']}: {facts['text'][:200]}"
        result = await run.finish(status, summary=summary, confidence=confidence, degradations=degradations)
    return facts, confidence, list(facts.get("required_missing", [])), "", result


def _facts(out: FetchOut | ExtractOut) -> dict[str, Any]:
    common = {
        "url": out.url,
        "fetched_at": out.fetched_at.isoformat(),
        "age_s": out.age_s,
        "injection_flagged": out.injection_flagged,
        "injection_score": out.injection_score,
    }
    if isinstance(out, ExtractOut):
        return {
            **common,
            "data": out.data,
            "found": out.found,
            "required_missing": list(out.required_missing),
            "completeness": out.completeness,
            "title": "",
            "text": "",
        }
    readable = 1.0 if 200 <= out.status < 300 and out.text.strip() else 0.3
    return {
        **common,
        "title": out.title,
        "text": out.text,
        "final_url": out.final_url,
        "completeness": readable,
        "data": {},
    }


async def run_realtime(
    ctx: StepContext,
    steps: Sequence[PlanStep],
    realtime: RealtimeCapability,
    llm: LLMCapability | None,
    store: Store,
    history: Sequence[Task],
) -> RouteOutcome:
    """Fetch/extract every URL step; with an LLM step, answer the question from the pages."""
    fetch_steps = [s for s in steps if not s.depends_on]
    answer_step = next((s for s in steps if s.depends_on), None)
    outcome = RouteOutcome("", Confidence(0.0))
    pages: list[dict[str, Any]] = []
    confidences: list[tuple[str, Confidence]] = []
    for step in fetch_steps:
        facts, confidence, missing, unusable, result = await _one(ctx, step, realtime, store)
        outcome.steps.append(result)
        outcome.degradations += list(result.degradations)
        if unusable:
            outcome.missing_inputs.append("url")
            outcome.data["unusable"] = unusable
            continue
        if missing:
            outcome.missing_fields += missing
            outcome.missing_source = step.target
        if facts:
            pages.append(facts)
            outcome.sources.append(step.target)
        confidences.append((step.step_id, confidence))
    if not pages:
        outcome.confidence = combine(confidences) if confidences else Confidence(0.0)
        return outcome
    page_conf = combine(confidences) if len(confidences) > 1 else confidences[0][1]
    outcome.data["pages"] = [{k: p[k] for k in _PAGE_EVIDENCE if k in p} for p in pages]
    direct = "\n".join(_format_data(p["data"]) if p["data"] else f"{p['title']}\n{p['text'][:1000]}" for p in pages)
    if answer_step is None or llm is None:
        outcome.answer, outcome.confidence = direct.strip(), page_conf
        return outcome
    async with StepRun(answer_step, ctx.hooks) as run:
        context = "\n\n".join(
            f"Page {p['url']} ({p['title']}):\n{_format_data(p['data']) or p['text']}" for p in pages
        )[: ctx.settings.llm.max_context_chars]
        messages = [
            ChatTurn("system", ctx.settings.llm.system_prompt),
            *history_turns(history, ctx.settings.llm.session_turns),
            ChatTurn(
                "user",
                "Answer the question using only the page content below. If it does not contain the answer, "
                f"say you don't know.\n\n{context}\n\nQuestion: {ctx.task.text}",
            ),
        ]
        try:
            out, llm_conf, usage = await ask_llm(ctx, run, llm, messages)
        except AgentplaneError as exc:
            degradation = Degradation("gateway", f"unavailable ({exc.message}); page content returned instead", 0.5)
            result = await run.finish(StepStatus.FAILED, error=exc.message, degradations=(degradation,))
            outcome.steps.append(result)
            outcome.degradations.append(degradation)
            outcome.answer = direct.strip()
            outcome.confidence = combine([("pages", page_conf), ("gateway_down", Confidence(0.5))])
            return outcome
        result = await run.finish(StepStatus.SUCCEEDED, summary=out.text, confidence=llm_conf)
    outcome.steps.append(result)
    outcome.usage = usage
    outcome.answer = out.text.strip()
    outcome.confidence = combine([("pages", page_conf), (answer_step.step_id, llm_conf)])
    return outcome

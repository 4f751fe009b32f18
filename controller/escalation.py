"""Escalation: answer, ask the submitter a specific question, or send to a human.

Layer: controller domain (pure). Below the threshold of the tenant and task type
(default 0.85) a task is never answered automatically: when it is ambiguous (routes
scored close together, a required input or field is missing) the submitter gets a
specific clarification question; otherwise it goes to the review queue. Task types
marked high-stakes always go to review.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from controller.config import TenantPolicy
from controller.models import Clarification, Confidence, Plan, Route

__all__ = ["ROUTE_OPTIONS", "Decision", "Outcome", "decide", "threshold_for"]

# The task_type a submitter answers with to pick a route.
ROUTE_OPTIONS: dict[Route, tuple[str, str]] = {
    Route.DOMAIN: ("classify", "classify it as a news topic"),
    Route.LLM: ("general", "answer it as a general question"),
    Route.REALTIME: ("realtime", "look it up on a web page (give the URL)"),
    Route.REALTIME_LLM: ("realtime_answer", "answer it from a web page (give the URL)"),
}


class Outcome(enum.StrEnum):
    """What happens to a task's result."""

    ANSWER = "ANSWER"
    CLARIFY = "CLARIFY"
    REVIEW = "REVIEW"


@dataclass(frozen=True)
class Decision:
    """The outcome and its reason."""

    outcome: Outcome
    reason: str
    threshold: float
    clarification: Clarification | None = None
    code: str = "CONFIDENT"
    """The reason as a fixed code (metrics label): CONFIDENT, MISSING_INPUT, HIGH_STAKES, MISSING_FIELDS,
    AMBIGUOUS or LOW_CONFIDENCE."""


def threshold_for(policy: TenantPolicy, task_type: str) -> float:
    """The confidence threshold of a task type under a tenant's policy."""
    typed = policy.task_types.get(task_type)
    return typed.threshold if typed is not None and typed.threshold is not None else policy.threshold


def _route_question(plan: Plan) -> Clarification:
    options = [ROUTE_OPTIONS[c.route] for c in plan.candidates[:3] if c.route in ROUTE_OPTIONS]
    listed = "; ".join(f"'{hint}' to {what}" for hint, what in options)
    return Clarification(
        question=f"I am not sure what you want me to do with this. Reply in this session with {listed}.",
        options=tuple(hint for hint, _ in options),
        reason="routes scored too close together to choose",
    )


def decide(
    *,
    plan: Plan,
    confidence: Confidence,
    policy: TenantPolicy,
    task_type: str,
    missing_inputs: Sequence[str] = (),
    missing_fields: Sequence[str] = (),
    source: str = "",
) -> Decision:
    """Decide what to do with a result.

    Args:
        plan: The task's plan (its ambiguity and candidate routes).
        confidence: The result's confidence.
        policy: The tenant's policy.
        task_type: The task's type (thresholds and high-stakes flags are per type).
        missing_inputs: Inputs the task needed but did not carry (e.g. "url").
        missing_fields: Required extraction fields not found on the page.
        source: The page the fields were looked for on.
    """
    threshold = threshold_for(policy, task_type)
    typed = policy.task_types.get(task_type)
    if missing_inputs:
        what = " and ".join(missing_inputs)
        question = (
            "Which web page should I check? Reply in this session with its URL."
            if "url" in missing_inputs
            else f"Please add the missing {what} and submit again."
        )
        return Decision(
            Outcome.CLARIFY,
            f"missing input: {what}",
            threshold,
            Clarification(question, (), f"missing {what}"),
            code="MISSING_INPUT",
        )
    if typed is not None and typed.high_stakes:
        return Decision(Outcome.REVIEW, "high_stakes_task_type", threshold, code="HIGH_STAKES")
    if confidence.score >= threshold:
        return Decision(Outcome.ANSWER, f"confidence {confidence.score:.3f} >= threshold {threshold:.2f}", threshold)
    if missing_fields:
        fields = ", ".join(missing_fields)
        return Decision(
            Outcome.CLARIFY,
            f"required fields missing: {fields}",
            threshold,
            Clarification(
                f"The page {source} does not show {fields}. Which page lists them? Reply with its URL.",
                (),
                "required fields missing",
            ),
            code="MISSING_FIELDS",
        )
    if plan.ambiguous:
        return Decision(Outcome.CLARIFY, "ambiguous task", threshold, _route_question(plan), code="AMBIGUOUS")
    return Decision(
        Outcome.REVIEW, f"low_confidence ({confidence.score:.3f} < {threshold:.2f})", threshold, code="LOW_CONFIDENCE"
    )

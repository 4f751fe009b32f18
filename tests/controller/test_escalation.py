"""Escalation: answer above the threshold, clarify when ambiguous or missing input, review otherwise."""

from __future__ import annotations

from controller.config import TaskTypePolicy, TenantPolicy
from controller.escalation import Outcome, decide, threshold_for
from controller.models import Capability, Confidence, Plan, PlanStep, Route, RouteScore

POLICY = TenantPolicy(
    task_types={"payment_approval": TaskTypePolicy(high_stakes=True), "triage": TaskTypePolicy(threshold=0.6)}
)


def _plan(ambiguous: bool = False) -> Plan:
    return Plan(
        Route.LLM,
        (PlanStep("s1", Capability.LLM_COMPLETE, "general"),),
        (RouteScore(Route.LLM, 0.41), RouteScore(Route.DOMAIN, 0.40), RouteScore(Route.REALTIME, 0.2)),
        ambiguous=ambiguous,
    )


def test_thresholds_come_from_the_task_type_then_the_tenant():
    assert threshold_for(POLICY, "triage") == 0.6
    assert threshold_for(POLICY, "anything") == 0.85


def test_confident_results_are_answered():
    assert decide(plan=_plan(), confidence=Confidence(0.9), policy=POLICY, task_type="").outcome is Outcome.ANSWER


def test_low_confidence_goes_to_review():
    decision = decide(plan=_plan(), confidence=Confidence(0.5), policy=POLICY, task_type="")
    assert decision.outcome is Outcome.REVIEW and "low_confidence" in decision.reason


def test_ambiguous_low_confidence_asks_a_specific_question_with_options():
    decision = decide(plan=_plan(ambiguous=True), confidence=Confidence(0.5), policy=POLICY, task_type="")
    assert decision.outcome is Outcome.CLARIFY
    assert decision.clarification is not None
    assert decision.clarification.options == ("general", "classify", "realtime")
    assert "'classify'" in decision.clarification.question


def test_high_stakes_types_always_need_approval():
    decision = decide(plan=_plan(), confidence=Confidence(0.999), policy=POLICY, task_type="payment_approval")
    assert decision.outcome is Outcome.REVIEW and decision.reason == "high_stakes_task_type"


def test_missing_url_and_missing_fields_ask_for_them():
    no_url = decide(plan=_plan(), confidence=Confidence(0.0), policy=POLICY, task_type="", missing_inputs=["url"])
    assert no_url.outcome is Outcome.CLARIFY and "URL" in no_url.clarification.question
    fields = decide(
        plan=_plan(),
        confidence=Confidence(0.5),
        policy=POLICY,
        task_type="",
        missing_fields=["price"],
        source="http://x/p",
    )
    assert fields.outcome is Outcome.CLARIFY and "price" in fields.clarification.question

"""Routing rules that need no embeddings: hints, policies, URLs."""

from __future__ import annotations

from controller.config import RoutingSettings, TaskTypePolicy, TenantPolicy
from controller.models import Capability, Route
from controller.routing import Router, TaskFacts, find_urls, strip_instruction

RULES_ONLY = Router(RoutingSettings(semantic=False), None)


def _facts(text: str, task_type: str = "", urls: tuple[str, ...] = (), schema: bool = False) -> TaskFacts:
    return TaskFacts(text=text, task_type=task_type, urls=urls or tuple(find_urls(text)), has_schema=schema)


async def test_a_hint_decides_the_route():
    plan = await RULES_ONLY.plan(_facts("anything", "classify"), TenantPolicy())
    assert plan.route is Route.DOMAIN and plan.rules_fired == ("task_type_hint:classify",)
    assert plan.steps[0].capability is Capability.DOMAIN_CLASSIFY


async def test_tenant_policy_routes_custom_task_types():
    policy = TenantPolicy(task_types={"kyc_check": TaskTypePolicy(route="LLM")})
    assert (await RULES_ONLY.plan(_facts("check", "kyc_check"), policy)).route is Route.LLM


async def test_a_url_with_a_question_fetches_then_answers():
    plan = await RULES_ONLY.plan(_facts("What is the price listed on https://shop.test/item?"), TenantPolicy())
    assert plan.route is Route.REALTIME_LLM
    assert [s.capability for s in plan.steps] == [Capability.REALTIME_FETCH, Capability.LLM_COMPLETE]
    assert plan.steps[1].depends_on == ("s1",)


async def test_a_bare_url_or_a_schema_is_a_realtime_lookup():
    assert (await RULES_ONLY.plan(_facts("fetch https://shop.test/item"), TenantPolicy())).route is Route.REALTIME
    plan = await RULES_ONLY.plan(_facts("prices please https://shop.test/item", schema=True), TenantPolicy())
    assert plan.route is Route.REALTIME and plan.steps[0].capability is Capability.REALTIME_EXTRACT


def test_urls_are_found_without_trailing_punctuation_or_repeats():
    assert find_urls("see https://a.test/x, and https://a.test/x. Also http://b.test") == [
        "https://a.test/x",
        "http://b.test",
    ]


def test_classification_instructions_are_stripped_before_classifying():
    assert strip_instruction("Classify this article: Shares rose.") == "Shares rose."
    assert strip_instruction("Shares rose: a lot.") == "Shares rose: a lot."

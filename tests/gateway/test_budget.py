"""Budgets: refused with RESOURCE_EXHAUSTED before any upstream call, reported by GetUsage."""

from __future__ import annotations

import pytest

from agentplane.errors import ResourceExhaustedError
from agentplane.rpc import stream, unary
from agentplane.v1 import gateway_pb2
from gateway.budget import BudgetPolicy
from gateway.config import BudgetSettings, TenantBudgetSettings
from gateway.models import Usage
from gateway.usage import Periods, UsageLedger
from tests.gateway.conftest import user

BYPASS = gateway_pb2.CachePolicy(mode=gateway_pb2.CachePolicy.MODE_BYPASS)


async def test_daily_cost_budget_refuses_before_any_upstream_call(gateway_factory) -> None:
    async with gateway_factory(budgets={"tenants": {"acme": {"daily_usd": 0.001}}}) as gw:
        first = await unary(gw.stub().Complete, user("spend", model="cloud-only", cache=BYPASS))
        assert first.usage.cost_usd > 0.001, "one request may overshoot: the rule is 'admitted while under budget'"
        calls = gw.cloud.count()
        for rpc in ("Complete", "StreamComplete"):
            with pytest.raises(ResourceExhaustedError) as err:
                if rpc == "Complete":
                    await unary(gw.stub().Complete, user("more", model="cloud-only", cache=BYPASS))
                else:
                    [c async for c in stream(gw.stub().StreamComplete, user("more", model="general"))]
            assert err.value.reason == "BUDGET_EXCEEDED"
            assert err.value.metadata["window"] == "daily"
            assert 0 < (err.value.retry_after_s or 0) <= 86400, "the hint is the time to the daily reset"
        with pytest.raises(ResourceExhaustedError):
            await unary(gw.stub().Embed, gateway_pb2.LLMEmbedRequest(model="embed", inputs=["x"]))
        assert gw.cloud.count() == calls and gw.onprem.count() == 0
        other = await unary(gw.stub("globex-user").Complete, user("mine", model="cloud-only"))
        assert other.message.content == "Echo: mine", "budgets are per tenant"
        usage = await unary(gw.stub().GetUsage, gateway_pb2.GetUsageRequest())
        assert usage.daily.budget_usd == pytest.approx(0.001)
        assert usage.daily.remaining_usd == 0
        assert usage.daily.cost_usd == pytest.approx(first.usage.cost_usd)
        assert usage.monthly.budget_usd == 0, "no monthly budget configured"


async def test_token_budget(gateway_factory) -> None:
    async with gateway_factory(budgets={"default": {"monthly_tokens": 30}}) as gw:
        resp = await unary(gw.stub().Complete, user("a b c", cache=BYPASS))
        used = resp.usage.input_tokens + resp.usage.output_tokens
        usage = await unary(gw.stub().GetUsage, gateway_pb2.GetUsageRequest())
        assert usage.monthly.budget_tokens == 30 and usage.monthly.remaining_tokens == max(0, 30 - used)
        while True:
            try:
                await unary(gw.stub().Complete, user("a b c", cache=BYPASS))
            except ResourceExhaustedError as err:
                assert err.reason == "BUDGET_EXCEEDED" and err.metadata["window"] == "monthly"
                break
            assert gw.onprem.count() < 10, "the budget must bite"


def test_budget_policy_caps_max_tokens_and_reports_remaining() -> None:
    ledger = UsageLedger(None, 1.0, Periods(lambda: 1_795_600_000.0))
    policy = BudgetPolicy(
        BudgetSettings(tenants={"acme": TenantBudgetSettings(daily_usd=1.0, max_tokens_per_request=100)}), ledger
    )
    assert policy.cap_max_tokens("acme", 0, 256) == 100
    assert policy.cap_max_tokens("acme", 50, 256) == 50
    assert policy.cap_max_tokens("globex", 0, 256) == 256
    ledger.record("acme", "general", "dep", Usage(10, 5, 0.25))
    report = policy.report("acme")
    assert report.daily.remaining_usd == pytest.approx(0.75)
    assert report.daily.period == "2026-11-25" and report.monthly.period == "2026-11"
    policy.check("acme")
    ledger.record("acme", "general", "dep", Usage(10, 5, 0.80))
    with pytest.raises(ResourceExhaustedError):
        policy.check("acme")


def test_periods_roll_over_at_utc_midnight() -> None:
    now = [1_795_651_199.0]  # 2026-11-25 23:59:59 UTC
    periods = Periods(lambda: now[0])
    assert periods.current() == ("2026-11-25", "2026-11")
    assert periods.seconds_to_day_end() == pytest.approx(1.0)
    now[0] += 2
    assert periods.current() == ("2026-11-26", "2026-11")
    assert periods.seconds_to_month_end() == pytest.approx(5 * 86400 - 1)
    now[0] += 5 * 86400
    assert periods.current() == ("2026-12-01", "2026-12")

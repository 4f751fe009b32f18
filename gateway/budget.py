"""Per-tenant budgets: daily and monthly spend and tokens, and the per-request token cap.

Layer: domain. `BudgetPolicy.check` runs before any upstream call: a tenant whose
current day or month has used its budget is refused with RESOURCE_EXHAUSTED,
carrying when the window resets as the retry hint. The rule is simple on
purpose: a request is admitted while the window's spend is below its budget, so
the overshoot is bounded by one request, itself bounded by the token cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentplane.errors import ResourceExhaustedError
from gateway.config import BudgetSettings, TenantBudgetSettings
from gateway.usage import Counters, UsageLedger

__all__ = ["BudgetPolicy", "UsageReport", "WindowReport"]


@dataclass(frozen=True, slots=True)
class WindowReport:
    """Usage of one day or month against its budgets (0 = no budget)."""

    period: str
    used: Counters
    budget_usd: float
    remaining_usd: float
    budget_tokens: int
    remaining_tokens: int


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A tenant's usage: current day, current month, per deployment this month."""

    tenant: str
    daily: WindowReport
    monthly: WindowReport
    by_deployment: list[tuple[str, str, Counters]]
    max_tokens_per_request: int


class BudgetPolicy:
    """Budgets per tenant, checked against the usage ledger.

    Args:
        settings: Default and per-tenant budgets.
        ledger: Where usage is counted.
    """

    def __init__(self, settings: BudgetSettings, ledger: UsageLedger) -> None:
        self._settings = settings
        self._ledger = ledger

    def limits(self, tenant: str) -> TenantBudgetSettings:
        """The budgets of `tenant`."""
        return self._settings.tenants.get(tenant, self._settings.default)

    def cap_max_tokens(self, tenant: str, requested: int, alias_default: int) -> int:
        """The token cap a request runs with: its own (or the alias default), at most the tenant's cap."""
        cap = self.limits(tenant).max_tokens_per_request
        wanted = requested if requested > 0 else alias_default
        return min(wanted, cap)

    def check(self, tenant: str) -> None:
        """Refuse when the tenant's current day or month has used a budget.

        Raises:
            ResourceExhaustedError: Reason BUDGET_EXCEEDED, retry hint = time to the window's reset.
        """
        limits = self.limits(tenant)
        if limits.daily_usd or limits.daily_tokens:
            period, used = self._ledger.window(tenant, daily=True)
            self._check_window(tenant, "daily", period, used, limits.daily_usd, limits.daily_tokens)
        if limits.monthly_usd or limits.monthly_tokens:
            period, used = self._ledger.window(tenant, daily=False)
            self._check_window(tenant, "monthly", period, used, limits.monthly_usd, limits.monthly_tokens)

    def report(self, tenant: str) -> UsageReport:
        """The usage of `tenant` against its budgets."""
        limits = self.limits(tenant)

        def window(daily: bool, budget_usd: float, budget_tokens: int) -> WindowReport:
            period, used = self._ledger.window(tenant, daily=daily)
            return WindowReport(
                period,
                used.copy(),
                budget_usd,
                max(0.0, budget_usd - used.cost_usd) if budget_usd else 0.0,
                budget_tokens,
                max(0, budget_tokens - used.tokens) if budget_tokens else 0,
            )

        return UsageReport(
            tenant,
            window(True, limits.daily_usd, limits.daily_tokens),
            window(False, limits.monthly_usd, limits.monthly_tokens),
            [(a, d, c.copy()) for a, d, c in self._ledger.by_deployment(tenant)],
            limits.max_tokens_per_request,
        )

    def _check_window(
        self, tenant: str, window: str, period: str, used: Counters, budget_usd: float, budget_tokens: int
    ) -> None:
        over_usd = budget_usd > 0 and used.cost_usd >= budget_usd
        over_tokens = budget_tokens > 0 and used.tokens >= budget_tokens
        if not (over_usd or over_tokens):
            return
        periods = self._ledger.periods
        reset_s = periods.seconds_to_day_end() if window == "daily" else periods.seconds_to_month_end()
        what = (
            f"${used.cost_usd:.4f} of its ${budget_usd:g} {window} budget"
            if over_usd
            else f"{used.tokens} of its {budget_tokens} {window} tokens"
        )
        raise ResourceExhaustedError(
            f"tenant {tenant!r} has used {what} ({period}); it resets in {reset_s / 3600:.1f} h",
            reason="BUDGET_EXCEEDED",
            metadata={"tenant": tenant, "subject": f"budget:{tenant}:{window}", "window": window, "period": period},
            retry_after_s=round(reset_s, 3),
        )

"""Shared pieces of step execution: the context a route runs in, and what it produces.

Layer: controller domain.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentplane.errors import AgentplaneError
from controller.capabilities import CallInfo
from controller.config import ControllerSettings
from controller.models import (
    Confidence,
    Degradation,
    PlanStep,
    StepResult,
    StepStatus,
    Task,
    UsageTotals,
)

__all__ = ["RouteOutcome", "StepHooks", "StepRun", "call_info_of"]

StepStarted = Callable[[PlanStep], Awaitable[None]]
StepDone = Callable[[StepResult, list[CallInfo]], Awaitable[None]]


@dataclass(frozen=True)
class StepHooks:
    """Called around every step so the runner can record events and audit."""

    started: StepStarted
    done: StepDone


@dataclass
class RouteOutcome:
    """What executing a plan produced."""

    answer: str
    confidence: Confidence
    steps: list[StepResult] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    degradations: list[Degradation] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    usage: UsageTotals = field(default_factory=UsageTotals)
    missing_inputs: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    missing_source: str = ""


class StepRun:
    """Bookkeeping of one step: timing, calls made, and its result record."""

    def __init__(self, step: PlanStep, hooks: StepHooks) -> None:
        self.step = step
        self._hooks = hooks
        self.calls: list[CallInfo] = []
        self._started = 0.0

    async def __aenter__(self) -> StepRun:
        self._started = time.perf_counter()
        await self._hooks.started(self.step)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def finish(
        self,
        status: StepStatus,
        *,
        summary: str = "",
        confidence: Confidence | None = None,
        error: str = "",
        degradations: tuple[Degradation, ...] = (),
    ) -> StepResult:
        """Record the step's result and report it."""
        result = StepResult(
            step_id=self.step.step_id,
            capability=self.step.capability,
            status=status,
            target=self.step.target,
            summary=summary[:500],
            confidence=confidence,
            latency_ms=round((time.perf_counter() - self._started) * 1000, 3),
            attempts=sum(c.attempts for c in self.calls),
            error=error,
            degradations=degradations,
        )
        await self._hooks.done(result, self.calls)
        return result


def call_info_of(exc: AgentplaneError, service: str, method: str) -> CallInfo:
    """The CallInfo attached to a failed downstream call (or a minimal one)."""
    info = getattr(exc, "call_info", None)
    if isinstance(info, CallInfo):
        return info
    return CallInfo(service, method, 0.0, 0, "error", {"code": exc.code.name, "error": exc.message})


@dataclass(frozen=True)
class StepContext:
    """What every route executor needs."""

    task: Task
    settings: ControllerSettings
    hooks: StepHooks

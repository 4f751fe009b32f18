"""Graceful degradation: a stopped downstream lowers confidence or escalates, never errors out."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.controller.test_e2e import ARTICLE, C, submit
from tests.support.platform import Platform

pytestmark = pytest.mark.slow


@contextmanager
def frozen(platform: Platform, process: str) -> Iterator[None]:
    """SIGSTOP a supervised process for the block: it accepts connections but never answers."""
    pid = platform.pid(process)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_realtime_down_answers_from_the_last_snapshot_with_a_staleness_penalty(platform):
    url = f"{platform.pages_url}/news.html"
    fresh = await submit(platform, text=f"fetch {url}", task_type="realtime")
    assert fresh.state == C.TASK_STATE_COMPLETED, fresh
    with frozen(platform, "realtime"):
        task = await submit(platform, text=f"fetch {url}", task_type="realtime")
    assert task.state == C.TASK_STATE_NEEDS_REVIEW, task
    assert task.result.steps[0].status == C.STEP_STATUS_DEGRADED
    assert "stale_snapshot" in {c.name for c in task.result.confidence.components}
    assert "Markets rally" in task.result.answer


async def test_gateway_down_escalates_a_general_task_without_an_answer(platform):
    with frozen(platform, "gateway"):
        task = await submit(platform, text="Explain what a bond is.", task_type="general")
    assert task.state == C.TASK_STATE_NEEDS_REVIEW, task
    assert task.result.answer == ""
    assert task.result.steps[0].status == C.STEP_STATUS_FAILED
    assert [d.component for d in task.result.degradations] == ["gateway"]


async def test_domain_inference_down_falls_back_to_the_llm_and_escalates(platform):
    with frozen(platform, "domain_inference"):
        task = await submit(platform, text=ARTICLE, task_type="classify")
    assert task.state == C.TASK_STATE_NEEDS_REVIEW, task
    assert task.result.steps[0].status == C.STEP_STATUS_DEGRADED
    assert task.result.data["stand_in"] == "llm"
    assert "degraded:domain_inference" in {c.name for c in task.result.confidence.components}

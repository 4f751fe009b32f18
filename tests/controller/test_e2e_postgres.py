"""The same controller on its PostgreSQL backend: persistence, idempotency, reviews, audit."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import E2E_POLICY
from tests.controller.conftest import POSTGRES_DSN
from tests.controller.test_e2e import ARTICLE, MOVIE_REVIEW, C, controller, submit
from tests.support.models import models_dir
from tests.support.platform import Platform, start_platform, stop_platform_process

pytestmark = pytest.mark.slow


def _psql(sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", POSTGRES_DSN, "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def pg_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if _psql("SELECT 1").returncode != 0:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_DSN}")
    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    assert _psql(f"CREATE SCHEMA {schema}").returncode == 0
    scratch = tmp_path_factory.mktemp("pg-platform")
    store = (
        f'\n[controller.store]\nbackend = "postgres"\npostgres_dsn = "{POSTGRES_DSN}"\npostgres_schema = "{schema}"\n'
    )
    running = start_platform(scratch / "data", models_dir(scratch), extra_config=E2E_POLICY + store)
    try:
        yield running
    finally:
        stop_platform_process(running.process)
        _psql(f"DROP SCHEMA {schema} CASCADE")


async def test_tasks_reviews_and_audit_live_in_postgres(pg_platform):
    key = f"idem-{uuid.uuid4().hex}"
    first = await submit(pg_platform, text=ARTICLE, task_type="classify", idempotency_key=key)
    again = await submit(pg_platform, text=ARTICLE, task_type="classify", idempotency_key=key)
    assert first.state == C.TASK_STATE_COMPLETED and again.task_id == first.task_id

    escalated = await submit(pg_platform, text=MOVIE_REVIEW, task_type="classify")
    assert escalated.state == C.TASK_STATE_NEEDS_REVIEW
    async with controller(pg_platform, "acme-reviewer") as stub:
        resolved = await stub.ResolveReview(
            C.ResolveReviewRequest(review_id=escalated.review_id, decision=C.REVIEW_DECISION_APPROVE), timeout=30
        )
        assert resolved.task.state == C.TASK_STATE_COMPLETED
        verdict = await stub.VerifyAuditTrail(C.VerifyAuditTrailRequest(), timeout=30)
    assert verdict.valid and verdict.events_checked >= 10, verdict

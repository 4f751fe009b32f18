"""Usage accounting: the ledger, SQLite persistence across restarts, Redis shared by replicas."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentplane.errors import ResourceExhaustedError
from agentplane.rpc import unary
from agentplane.v1 import gateway_pb2
from gateway.adapters.usage_redis import RedisUsageStore
from gateway.adapters.usage_sqlite import SqliteUsageStore
from gateway.models import Usage
from gateway.server import CORE
from gateway.usage import Periods, UsageLedger
from tests.gateway.conftest import REDIS_URL, running_gateway, user

BYPASS = gateway_pb2.CachePolicy(mode=gateway_pb2.CachePolicy.MODE_BYPASS)
NOW = 1_795_600_000.0  # 2026-11-25 UTC


async def test_ledger_counts_by_day_month_and_deployment() -> None:
    ledger = UsageLedger(None, 1.0, Periods(lambda: NOW))
    ledger.record("acme", "general", "a", Usage(10, 5, 0.5))
    ledger.record("acme", "general", "b", Usage(1, 1, 0.25))
    ledger.record("acme", "general", "a", Usage(), cache_hit=True)
    period, day = ledger.window("acme", daily=True)
    assert period == "2026-11-25"
    assert (day.requests, day.input_tokens, day.output_tokens, day.cache_hits) == (3, 11, 6, 1)
    assert day.cost_usd == pytest.approx(0.75)
    assert [(a, d, c.requests) for a, d, c in ledger.by_deployment("acme")] == [
        ("general", "a", 2),
        ("general", "b", 1),
    ]
    assert ledger.window("globex", daily=False)[1].requests == 0


async def test_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    first = UsageLedger(SqliteUsageStore(path), 60.0, Periods(lambda: NOW))
    await first.start()
    first.record("acme", "general", "a", Usage(10, 5, 0.5))
    await first.aclose()  # flushes
    second = UsageLedger(SqliteUsageStore(path), 60.0, Periods(lambda: NOW))
    await second.start()
    second.record("acme", "general", "a", Usage(1, 1, 0.5))
    assert second.window("acme", daily=True)[1].cost_usd == pytest.approx(1.0)
    await second.flush()
    await second.aclose()
    third = UsageLedger(SqliteUsageStore(path), 60.0, Periods(lambda: NOW + 86400))
    await third.start()
    assert third.window("acme", daily=True)[1].requests == 0, "a new day starts at zero"
    assert third.window("acme", daily=False)[1].requests == 2, "the month carries on"
    await third.aclose()


async def test_budget_survives_a_gateway_restart(tmp_path: Path) -> None:
    overrides = {"usage": {"backend": "sqlite"}, "budgets": {"tenants": {"acme": {"daily_usd": 0.001}}}}
    async with running_gateway(tmp_path, **overrides) as gw:
        await unary(gw.stub().Complete, user("spend", model="cloud-only", cache=BYPASS))
    assert (tmp_path / "gateway" / "usage.sqlite3").exists()
    async with running_gateway(tmp_path, **overrides) as gw:
        with pytest.raises(ResourceExhaustedError):
            await unary(gw.stub().Complete, user("more", model="cloud-only", cache=BYPASS))
        assert gw.cloud.count() == 0


async def test_redis_store_is_shared_by_replicas(redis_prefix: str) -> None:
    one = UsageLedger(RedisUsageStore(REDIS_URL, redis_prefix), 60.0, Periods(lambda: NOW))
    two = UsageLedger(RedisUsageStore(REDIS_URL, redis_prefix), 60.0, Periods(lambda: NOW))
    await one.start()
    await two.start()
    try:
        one.record("acme", "general", "a", Usage(10, 5, 0.5))
        two.record("acme", "general", "b", Usage(2, 2, 0.25), cache_hit=False)
        await one.flush()
        await two.flush()
        await one.flush()
        for ledger in (one, two):
            day = ledger.window("acme", daily=True)[1]
            assert (day.requests, day.input_tokens, day.output_tokens) == (2, 12, 7)
            assert day.cost_usd == pytest.approx(0.75)
        assert [(a, d) for a, d, _ in one.by_deployment("acme")] == [("general", "a"), ("general", "b")]
    finally:
        await one.aclose()
        await two.aclose()


async def test_budget_is_enforced_across_replicas_through_redis(tmp_path: Path, redis_prefix: str) -> None:
    overrides = {
        "usage": {"backend": "redis", "key_prefix": redis_prefix, "redis_url": REDIS_URL, "flush_interval_s": 60},
        "budgets": {"tenants": {"acme": {"daily_usd": 0.001}}},
    }
    async with running_gateway(tmp_path / "a", **overrides) as one, running_gateway(tmp_path / "b", **overrides) as two:
        await unary(one.stub().Complete, user("spend", model="cloud-only", cache=BYPASS))
        await one.server[CORE].ledger.flush()
        await two.server[CORE].ledger.flush()
        with pytest.raises(ResourceExhaustedError):
            await unary(two.stub().Complete, user("more", model="cloud-only", cache=BYPASS))
        assert two.cloud.count() == 0

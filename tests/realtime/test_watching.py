"""Watched sources: refreshed on schedule (fake clock, no sleeps), per tenant, persisted."""

from __future__ import annotations

import asyncio

import pytest

from agentplane.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
)
from realtime.config import ExtractionLimits
from realtime.extraction import FieldSpec, FieldType, validate_schema
from realtime.volatility import Volatility
from tests.realtime.conftest import FakeClock
from tests.realtime.site import TestSite

PRICES = validate_schema(
    "prices",
    (FieldSpec("item", ".item", required=True), FieldSpec("price", ".price", type=FieldType.CURRENCY, required=True)),
    ExtractionLimits(),
)


async def test_a_watched_source_is_refreshed_on_schedule(runtime_factory, site: TestSite, clock: FakeClock) -> None:
    rt = await runtime_factory()
    source = await rt.watch.watch("acme", url=site.url("/changing"), volatility=Volatility.MINUTES, schema=PRICES)
    assert source.refresh_interval_s == 300 and source.refresh_count == 1
    assert source.next_refresh_at == clock.now() + 300
    snap, _ = await rt.watch.snapshot("acme", source.source_id)
    assert snap.version == 1 and snap.data == {"item": "Widget", "price": {"amount": 19.99, "currency": "USD"}}
    assert snap.completeness == 1.0 and snap.title == "Price list v1"

    clock.advance(299)
    assert await rt.scheduler.run_due() == 0
    site.state.changing_version = 2
    clock.advance(2)
    assert await rt.scheduler.run_due() == 1
    snap, src = await rt.watch.snapshot("acme", source.source_id)
    assert snap.version == 2 and snap.changed and snap.data["price"]["amount"] == 29.99
    assert src.refresh_count == 2 and not rt.watch.is_stale(snap, src)
    assert site.hits("/changing") == 2

    clock.advance(301)
    await rt.scheduler.run_due()
    snap, _ = await rt.watch.snapshot("acme", source.source_id)
    assert snap.version == 3 and not snap.changed


async def test_the_background_loop_refreshes_when_the_clock_says_so(
    runtime_factory, site: TestSite, clock: FakeClock
) -> None:
    rt = await runtime_factory(watch={"enabled": True})
    assert rt.scheduler.running
    source = await rt.watch.watch("acme", url=site.url("/changing"), volatility=Volatility.MINUTES)
    site.state.changing_version = 5
    clock.advance(300)
    assert await rt.scheduler.wait_completed(1, timeout_s=10)
    snap, _ = await rt.watch.snapshot("acme", source.source_id)
    assert snap.version == 2 and "59.99" in snap.text


async def test_failures_are_recorded_with_back_off(runtime_factory, site: TestSite, clock: FakeClock) -> None:
    rt = await runtime_factory(fetch={"retry": {"max_attempts": 1}})
    source = await rt.watch.watch("acme", url=site.url("/flaky"), source_id="flaky", refresh_interval_s=3600)
    # The first attempt got a 503: a transient failure is recorded, the source is kept.
    assert source.consecutive_failures == 1 and "503" in source.last_error
    assert source.next_refresh_at == clock.now() + 30
    with pytest.raises(FailedPreconditionError):
        await rt.watch.snapshot("acme", "flaky")
    site.state.unavailable_left = 1
    clock.advance(30)
    await rt.scheduler.run_due()
    failed = await rt.store.get_source("acme", "flaky")
    assert failed is not None and failed.consecutive_failures == 2 and failed.next_refresh_at == clock.now() + 60
    clock.advance(60)
    await rt.scheduler.run_due()
    ok = await rt.store.get_source("acme", "flaky")
    assert ok is not None and ok.consecutive_failures == 0 and ok.last_error == ""
    assert ok.next_refresh_at == clock.now() + 3600


async def test_permanent_errors_refuse_registration(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    with pytest.raises(PermissionDeniedError):
        await rt.watch.watch("acme", url=site.url("/private/product.html"))
    with pytest.raises(PermissionDeniedError):
        await rt.watch.watch("acme", url="http://169.254.169.254/latest/")
    with pytest.raises(InvalidArgumentError):
        await rt.watch.watch("acme", url=site.url("/changing"), refresh_interval_s=1)
    with pytest.raises(InvalidArgumentError):
        await rt.watch.watch("acme", url=site.url("/changing"), source_id="bad id!")
    assert await rt.store.count_sources("acme") == 0


async def test_tenants_see_only_their_own_sources(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    await rt.watch.watch("acme", url=site.url("/changing"), source_id="prices")
    await rt.watch.watch("globex", url=site.url("/page/policy.html"), source_id="policy")
    acme, _ = await rt.watch.list("acme", 10, "")
    assert [s.source_id for s in acme] == ["prices"]
    with pytest.raises(NotFoundError):
        await rt.watch.snapshot("acme", "policy")
    assert await rt.watch.unwatch("acme", "policy") is False
    assert await rt.watch.unwatch("globex", "policy") is True
    with pytest.raises(NotFoundError):
        await rt.watch.snapshot("globex", "policy")


async def test_listing_pages_and_the_per_tenant_limit(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory(watch={"max_sources_per_tenant": 3})
    for name in ("c", "a", "b"):
        await rt.watch.watch("acme", url=site.url(f"/page/product.html?{name}"), source_id=name)
    first, token = await rt.watch.list("acme", 2, "")
    second, end = await rt.watch.list("acme", 2, token)
    assert [s.source_id for s in first + second] == ["a", "b", "c"] and end == ""
    with pytest.raises(ResourceExhaustedError):
        await rt.watch.watch("acme", url=site.url("/page/listing.html"), source_id="d")
    updated = await rt.watch.watch("acme", url=site.url("/page/listing.html"), source_id="a")
    assert updated.url.endswith("/page/listing.html") and updated.refresh_count == 2
    with pytest.raises(InvalidArgumentError):
        await rt.watch.list("acme", 2, "%%%")


async def test_sources_and_snapshots_survive_a_restart(runtime_factory, site: TestSite, clock: FakeClock) -> None:
    rt = await runtime_factory()
    await rt.watch.watch("acme", url=site.url("/changing"), source_id="prices", schema=PRICES)
    await rt.aclose()
    again = await runtime_factory()
    sources, _ = await again.watch.list("acme", 10, "")
    assert [s.source_id for s in sources] == ["prices"] and sources[0].schema is not None
    snap, _ = await again.watch.snapshot("acme", "prices")
    assert snap.data == {"item": "Widget", "price": {"amount": 19.99, "currency": "USD"}}
    clock.advance(3600)
    await again.scheduler.run_due()
    snap, _ = await again.watch.snapshot("acme", "prices")
    assert snap.version == 2


async def test_refreshes_run_with_bounded_concurrency(runtime_factory, site: TestSite, clock: FakeClock) -> None:
    rt = await runtime_factory(watch={"max_concurrent_refreshes": 2}, politeness={"default": {"max_concurrent": 8}})
    for i in range(6):
        await rt.watch.watch("acme", url=site.url(f"/held/{i}"), source_id=f"s{i}", refresh_interval_s=60)
    site.state.hold_until_in_flight = 2
    site.state.hold_expected_total = site.state.held_arrivals + 6
    site.state.max_in_flight.clear()
    clock.advance(61)
    assert await asyncio.wait_for(rt.scheduler.run_due(), 30) == 6
    assert max(site.state.max_in_flight.values()) == 2

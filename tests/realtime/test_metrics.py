"""The realtime service's /metrics after a known sequence of fetches: exact counter changes by outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from agentplane.errors import DeadlineExceededError, PermissionDeniedError, ResourceExhaustedError, UnavailableError
from agentplane.metrics import Window, scrape
from agentplane.rpc import ServiceHost, unary
from agentplane.v1 import realtime_pb2 as pb
from agentplane.v1 import realtime_pb2_grpc
from realtime.runtime import RuntimeHooks
from realtime.server import build_server
from tests.realtime.conftest import ConnectLog, FakeClock, FakeResolver, realtime_settings
from tests.realtime.site import TestSite
from tests.support.servers import channel, running


@pytest.fixture
async def served(tmp_path: Path, site: TestSite, clock: FakeClock) -> AsyncIterator[tuple[ServiceHost, str]]:
    settings = realtime_settings(tmp_path, site, fetch={"max_body_bytes": 1024 * 1024})
    hooks = RuntimeHooks(clock=clock, base_resolver=FakeResolver({}), connect_observer=ConnectLog())
    host = build_server(settings, hooks=hooks)
    async with running(host) as address:
        yield host, address


async def test_fetch_outcomes_bytes_cache_and_politeness_are_counted_exactly(
    served: tuple[ServiceHost, str], site: TestSite
) -> None:
    host, address = served
    assert host.metrics_endpoint is not None
    url = host.metrics_endpoint.url
    site.state.throttle_left = 10  # every attempt at /limited is answered 429
    async with aiohttp.ClientSession() as http, channel(address) as chan:
        before = await scrape(http, url)
        stub = realtime_pb2_grpc.RealtimeDataStub(chan.channel)

        async def fetch(path: str, **options: int) -> pb.FetchResponse:
            return await unary(stub.Fetch, pb.FetchRequest(url=site.url(path), options=pb.FetchOptions(**options)))

        page = await fetch("/page/product.html")
        again = await fetch("/page/product.html")  # fresh in the cache
        await fetch("/etag")
        revalidated = await fetch("/etag")  # stale (max-age=0): a conditional GET answered 304
        with pytest.raises(PermissionDeniedError):
            await unary(stub.Fetch, pb.FetchRequest(url="http://169.254.169.254/latest/meta-data/"))
        with pytest.raises(PermissionDeniedError):
            await fetch("/private/product.html")  # robots.txt
        with pytest.raises(ResourceExhaustedError):
            await fetch("/big-chunked.html")
        with pytest.raises(DeadlineExceededError):
            await fetch("/drip.html", timeout_ms=300)
        with pytest.raises(UnavailableError) as throttled:
            await fetch("/limited")  # 429 with Retry-After: 7 (past the fetch's deadline: not waited for)
        assert throttled.value.reason == "UPSTREAM_THROTTLED"
        window = Window(before, await scrape(http, url))

    assert window.increase_by("agentplane_realtime_fetches_total", "outcome") == {
        "ok": 2.0,
        "cache_hit": 1.0,
        "not_modified": 1.0,
        "ssrf_refused": 1.0,
        "robots_refused": 1.0,
        "too_large": 1.0,
        "throttled": 1.0,
        "timeout": 1.0,
    }
    assert window.increase_by("agentplane_realtime_cache_hits_total", "kind") == {"fresh": 1.0, "revalidated": 1.0}
    assert again.from_cache and revalidated.from_cache
    assert page.status_code == 200
    wire = window.increase("agentplane_realtime_fetched_bytes_total")
    assert wire > 0  # the two pages fetched over the network (their exact sizes are the site's)
    # Every request the site saw (pages, robots.txt, each 429 attempt) waited for its host's slot once.
    assert window.increase("agentplane_realtime_politeness_wait_seconds_count") == len(site.state.requests)
    # The gRPC view of the same calls: refusals are not errors of the service, but they are counted.
    handled = window.increase_by("agentplane_grpc_server_handled_total", "grpc_code", grpc_method="Fetch")
    assert handled == {
        "OK": 4.0,
        "PERMISSION_DENIED": 2.0,
        "RESOURCE_EXHAUSTED": 1.0,
        "UNAVAILABLE": 1.0,
        "DEADLINE_EXCEEDED": 1.0,
    }
    assert window.increase_by("agentplane_admission_refusals_total", "reason") == {"PAGE_TOO_LARGE": 1.0}
    assert window.after.value("agentplane_realtime_watched_sources") == 0

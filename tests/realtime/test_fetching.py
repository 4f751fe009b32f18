"""The fetch pipeline against the local test site: politeness, robots, caching, limits, deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from agentplane.errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnavailableError,
)
from realtime.fetching import parse_retry_after
from realtime.volatility import Volatility
from tests.realtime.conftest import FakeClock
from tests.realtime.site import TestSite


async def test_fetches_a_page_with_an_honest_user_agent(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    got = await rt.retriever.retrieve(site.url("/page/product.html"))
    assert got.outcome.status == 200 and got.outcome.media_type == "text/html"
    assert got.outcome.from_cache is False
    page_requests = [r for r in site.state.requests if r.path == "/page/product.html"]
    agent = page_requests[0].headers["User-Agent"]
    assert agent == rt.settings.fetch.user_agent and "agentplane" in agent
    assert "Cookie" not in page_requests[0].headers


async def test_robots_disallow_is_respected_and_cached(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    with pytest.raises(PermissionDeniedError) as caught:
        await rt.retriever.retrieve(site.url("/private/product.html"))
    assert caught.value.reason == "ROBOTS_DISALLOWED"
    assert site.hits("/private/product.html") == 0
    await rt.retriever.retrieve(site.url("/page/product.html"))
    await rt.retriever.retrieve(site.url("/page/listing.html"))
    assert site.hits("/robots.txt") == 1


async def test_robots_specific_to_our_token_and_crawl_delay(runtime_factory, site: TestSite, clock: FakeClock) -> None:
    site.state.robots = (
        "User-agent: agentplane\nDisallow: /page/listing\nCrawl-delay: 3\n\nUser-agent: *\nDisallow: /\n"
    )
    rt = await runtime_factory()
    await rt.retriever.retrieve(site.url("/page/product.html"))
    with pytest.raises(PermissionDeniedError):
        await rt.retriever.retrieve(site.url("/page/listing.html"))
    await rt.retriever.retrieve(site.url("/page/policy.html"))
    # The crawl delay spaced the two page requests on the (fake) clock.
    assert any(s >= 3.0 for s in clock.sleeps)


async def test_robots_server_error_disallows_everything(runtime_factory, site: TestSite) -> None:
    site.state.robots_status = 500
    rt = await runtime_factory(fetch={"retry": {"max_attempts": 1}})
    with pytest.raises(PermissionDeniedError) as caught:
        await rt.retriever.retrieve(site.url("/page/product.html"))
    assert "unreachable" in caught.value.message
    assert site.hits("/page/product.html") == 0


async def test_missing_robots_allows_everything(runtime_factory, site: TestSite) -> None:
    site.state.robots_status = 404
    rt = await runtime_factory()
    got = await rt.retriever.retrieve(site.url("/private/product.html"))
    assert got.outcome.status == 200


async def test_robots_can_be_ignored_by_configuration(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory(robots={"obey": False})
    await rt.retriever.retrieve(site.url("/private/product.html"))
    assert site.hits("/robots.txt") == 0


async def test_per_host_concurrency_is_never_exceeded(runtime_factory, site: TestSite) -> None:
    limit, per_host = 2, 8
    site.state.hold_until_in_flight = limit
    site.state.hold_expected_total = 2 * per_host
    rt = await runtime_factory(
        robots={"obey": False}, politeness={"default": {"max_concurrent": limit, "min_delay_s": 0}}
    )
    urls = [site.url(f"/held/{i}", host=h) for h in ("site-a.test", "site-b.test") for i in range(per_host)]
    results = await asyncio.gather(*(rt.retriever.retrieve(u) for u in urls))
    assert all(r.outcome.status == 200 for r in results)
    hosts = {f"site-a.test:{site.port}", f"site-b.test:{site.port}"}
    assert {h: site.state.max_in_flight[h] for h in hosts} == dict.fromkeys(hosts, limit)


async def test_429_retry_after_is_honoured(runtime_factory, site: TestSite, clock: FakeClock) -> None:
    site.state.retry_after = "7"
    rt = await runtime_factory()
    got = await rt.retriever.retrieve(site.url("/limited"))
    assert got.outcome.status == 200
    assert site.hits("/limited") == 2
    assert max(clock.sleeps) >= 7.0
    # The host stays slowed down for a while (adaptive back-off), then decays.
    assert rt.gates.state("127.0.0.1").throttled == 1


async def test_retry_after_longer_than_allowed_fails_fast_with_the_delay(runtime_factory, site: TestSite) -> None:
    site.state.retry_after = "3600"
    rt = await runtime_factory()
    with pytest.raises(UnavailableError) as caught:
        await rt.retriever.retrieve(site.url("/limited"))
    assert caught.value.retry_after_s == 3600
    assert site.hits("/limited") == 1


async def test_503_is_retried(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    got = await rt.retriever.retrieve(site.url("/flaky"))
    assert got.outcome.status == 200 and site.hits("/flaky") == 2


async def test_conditional_request_reuses_the_cached_body_on_304(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    first = await rt.retriever.retrieve(site.url("/etag"))
    second = await rt.retriever.retrieve(site.url("/etag"))
    assert not first.outcome.from_cache and not first.outcome.revalidated
    assert second.outcome.from_cache and second.outcome.revalidated
    assert second.outcome.body == first.outcome.body
    conditional = [r for r in site.state.requests if r.path == "/etag"][1]
    assert conditional.headers.get("If-None-Match") == '"v1"'
    site.state.etag = '"v2"'
    third = await rt.retriever.retrieve(site.url("/etag"))
    assert not third.outcome.from_cache and b"v2" in third.outcome.body


async def test_cache_ttl_follows_volatility(runtime_factory, site: TestSite, clock: FakeClock) -> None:
    rt = await runtime_factory()
    url = site.url("/page/policy.html")
    await rt.retriever.retrieve(url, volatility=Volatility.MINUTES)
    again = await rt.retriever.retrieve(url, volatility=Volatility.MINUTES)
    assert again.outcome.from_cache and site.hits("/page/policy.html") == 1
    clock.advance(61)
    fresh = await rt.retriever.retrieve(url, volatility=Volatility.MINUTES)
    assert not fresh.outcome.from_cache and site.hits("/page/policy.html") == 2
    assert fresh.age_s(clock.now()) == 0
    bypass = await rt.retriever.retrieve(url, bypass_cache=True)
    assert not bypass.outcome.from_cache and site.hits("/page/policy.html") == 3


async def test_gzip_bomb_and_oversized_pages_are_refused_and_the_fetcher_keeps_serving(
    runtime_factory, site: TestSite
) -> None:
    rt = await runtime_factory(fetch={"max_body_bytes": 1024 * 1024, "max_decompressed_bytes": 2 * 1024 * 1024})
    with pytest.raises(ResourceExhaustedError) as bomb:
        await rt.retriever.retrieve(site.url("/bomb.html"))
    assert bomb.value.reason == "DECOMPRESSED_TOO_LARGE" and "2097152" in bomb.value.message
    for path in ("/big-chunked.html", "/big-declared.html"):
        with pytest.raises(ResourceExhaustedError) as big:
            await rt.retriever.retrieve(site.url(path))
        assert big.value.reason == "PAGE_TOO_LARGE" and "1048576" in big.value.message
    got = await rt.retriever.retrieve(site.url("/gzip.html"))
    assert got.outcome.status == 200 and got.outcome.wire_bytes < len(got.outcome.body)


async def test_redirect_loop_is_stopped(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    with pytest.raises(FailedPreconditionError) as caught:
        await rt.retriever.retrieve(site.url("/loop/a"))
    assert caught.value.reason == "REDIRECT_LOOP"
    assert site.hits("/loop/a") == 1 and site.hits("/loop/b") == 1


async def test_redirect_limit(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory(fetch={"max_redirects": 3})
    ok = await rt.retriever.retrieve(site.url("/chain/3"))
    assert ok.outcome.redirects == 3 and ok.outcome.final_url.endswith("/chain/0")
    with pytest.raises(FailedPreconditionError) as caught:
        await rt.retriever.retrieve(site.url("/chain/9"))
    assert caught.value.reason == "TOO_MANY_REDIRECTS"
    assert site.hits("/chain/5") == 0


async def test_slow_drip_is_stopped_by_the_total_deadline(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory(fake_clock=False)
    with pytest.raises(DeadlineExceededError) as caught:
        await rt.retriever.retrieve(site.url("/drip.html"), timeout_s=0.5)
    assert caught.value.reason == "FETCH_DEADLINE" and "downloading" in caught.value.message
    async with asyncio.timeout(10):
        await site.state.drip_done.wait()  # the server saw the connection go away
    assert site.state.drip_chunks_sent < 600
    got = await rt.retriever.retrieve(site.url("/page/product.html"))
    assert got.outcome.status == 200


async def test_disallowed_content_type_is_refused_before_the_body(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    with pytest.raises(FailedPreconditionError) as caught:
        await rt.retriever.retrieve(site.url("/report.pdf"))
    assert caught.value.reason == "CONTENT_TYPE_NOT_ALLOWED" and "application/pdf" in caught.value.message


async def test_client_errors_are_returned_not_raised(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    got = await rt.retriever.retrieve(site.url("/missing"))
    assert got.outcome.status == 404 and rt.retriever.title(got) == "Not here"


async def test_unreachable_upstream_is_unavailable(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory(ssrf={"allow": ["127.0.0.1/32"]}, fetch={"retry": {"max_attempts": 2}})
    with pytest.raises(UnavailableError) as caught:
        await rt.retriever.retrieve("http://127.0.0.1:9/")  # discard port: nothing listens
    assert caught.value.reason == "CONNECT_FAILED"


def test_retry_after_parsing() -> None:
    assert parse_retry_after("120", 0.0) == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10.0
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None


async def test_other_requests_to_a_throttled_host_fail_fast(runtime_factory, site: TestSite) -> None:
    site.state.retry_after = "3600"
    rt = await runtime_factory()
    with pytest.raises(UnavailableError):
        await rt.retriever.retrieve(site.url("/limited"))
    with pytest.raises(UnavailableError) as caught:
        await rt.retriever.retrieve(site.url("/page/product.html"), timeout_s=5)
    assert caught.value.reason == "HOST_BACKING_OFF" and caught.value.retry_after_s == pytest.approx(3600)
    assert site.hits("/page/product.html") == 0


async def test_views_are_memoised_on_the_cache_entry_as_they_are_asked_for(runtime_factory, site: TestSite) -> None:
    rt = await runtime_factory()
    retriever = rt.retriever
    first = await retriever.retrieve(site.url("/page/listing.html"))
    await retriever.prepare(first, "title", "markdown")
    assert first.page.parsed
    markdown = retriever.markdown(first)
    entry = first.outcome.entry
    assert entry is not None and set(entry.rendered) == {"markdown"}
    again = await retriever.retrieve(site.url("/page/listing.html"))
    assert again.outcome.from_cache and again.outcome.entry is entry
    await retriever.prepare(again, "markdown")
    assert not again.page.parsed  # everything asked for is memoised: nothing is parsed
    assert retriever.markdown(again) is markdown
    assert retriever.text(again).startswith("Today's flight deals") and again.page.parsed  # computed on demand
    assert {"markdown", "text"} <= set(entry.rendered)
    links = retriever.links(again, 5)
    assert len(links) == 3 and retriever.links(again, 5) is links and len(retriever.links(again, 2)) == 2
    assert site.hits("/page/listing.html") == 1


class CountingPool(ThreadPoolExecutor):
    """A real thread pool that counts what it is given."""

    def __init__(self) -> None:
        super().__init__(1)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize(("inline_max", "on_threads"), [(100, 1), (10_000_000, 0)])
async def test_large_pages_are_parsed_on_the_parse_threads_small_ones_inline(
    runtime_factory, site: TestSite, inline_max: int, on_threads: int
) -> None:
    rt = await runtime_factory(content={"inline_parse_max_bytes": inline_max})
    pool = CountingPool()
    rt.retriever.executor = pool
    try:
        got = await rt.retriever.retrieve(site.url("/page/product.html"))
        assert got.page.size_bytes > 100 and not got.page.parsed
        await rt.retriever.prepare(got)
        assert got.page.parsed and pool.submitted == on_threads
        assert rt.retriever.title(got).startswith("Acme Anvil 3000")
    finally:
        pool.shutdown()

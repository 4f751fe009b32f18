"""Browser rendering: Chromium with every request served by the guarded fetcher (local site on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentplane.errors import DeadlineExceededError
from realtime.adapters.browser import BrowserLimits, BrowserRenderer
from realtime.injection import InjectionScanner
from realtime.page import Page
from tests.realtime.conftest import ConnectLog
from tests.realtime.site import TestSite

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (`make setup` installs it with apt-get)")
    return CHROMIUM


@pytest.fixture
async def renderer(runtime_factory: Any, chromium: Path) -> AsyncIterator[BrowserRenderer]:
    rt = await runtime_factory(fake_clock=False)
    browser = BrowserRenderer(rt.fetcher, BrowserLimits(executable=str(CHROMIUM), deadline_s=10.0))
    await browser.start()
    try:
        yield browser
    finally:
        await browser.aclose()


async def test_data_filled_in_by_javascript_is_read_from_the_rendered_dom(
    renderer: BrowserRenderer, site: TestSite
) -> None:
    url = site.url("/js/price.html")
    static = Page((await _static(site, "/js/price.html")).encode(), "text/html", "utf-8", url, InjectionScanner())
    assert "EUR 42.50" not in static.text
    rendering = await renderer.render(url, tenant="acme", wait_for="#price:not(:empty)")
    page = Page.from_html(rendering.html, rendering.url, InjectionScanner())
    assert "Price: EUR 42.50" in page.text
    assert site.hits("/api/price") == 1  # the page's fetch() went through the service's fetcher


async def test_forbidden_subresources_iframes_and_sockets_make_no_connection(
    renderer: BrowserRenderer, site: TestSite, connects: ConnectLog
) -> None:
    rendering = await renderer.render(site.url("/js/forbidden.html"), tenant="acme")
    assert "visible" in rendering.html
    refused = "\n".join(rendering.refused)
    for address in ("169.254.169.254", "10.0.0.1", "192.168.1.1"):
        assert address in refused and "SSRF_BLOCKED" in refused
    assert {address for address, _ in connects.attempts} == {"127.0.0.1"}
    assert all(port == site.port for _, port in connects.attempts)  # the WebSocket to :9 never connected


async def test_a_page_that_never_goes_idle_ends_at_its_deadline(renderer: BrowserRenderer, site: TestSite) -> None:
    with pytest.raises(DeadlineExceededError) as caught:
        await renderer.render(site.url("/js/forever.html"), tenant="acme", timeout_s=2.0)
    assert caught.value.reason == "RENDER_DEADLINE"


async def test_each_tenant_gets_its_own_context(renderer: BrowserRenderer, site: TestSite) -> None:
    await renderer.render(site.url("/js/price.html"), tenant="acme", wait_for="#price:not(:empty)")
    await renderer.render(site.url("/js/price.html"), tenant="globex", wait_for="#price:not(:empty)")
    await renderer.render(site.url("/js/price.html"), tenant="acme", wait_for="#price:not(:empty)")
    assert sorted(t for t, _ in renderer._contexts) == ["acme", "globex"]


async def _static(site: TestSite, path: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(site.url(path)) as resp:
        return await resp.text()

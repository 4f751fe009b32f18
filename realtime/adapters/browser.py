"""Rendering pages in Chromium with every request served by the service's guarded fetcher.

Layer: adapter (Playwright). `BrowserRenderer` drives Debian's Chromium through
Playwright (`executable_path`; nothing downloads a browser). The browser never opens a
connection of its own: a route on every context intercepts each request (the page,
redirects, subresources, XHR/fetch, iframes) and fulfils it with a response fetched by
the realtime `Fetcher`, so the SSRF guard, robots.txt, politeness and size limits apply
to all of them; a refused request is aborted and recorded. WebSockets are closed
before they connect. Contexts are kept per (tenant, site), bounded in number, and
allow no downloads, service workers or permissions; popups are closed. Each render has
a total deadline and a budget of requests and bytes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route, WebSocketRoute, async_playwright

from agentplane.errors import AgentplaneError, DeadlineExceededError, UnavailableError
from realtime.fetching import Fetcher

__all__ = ["BrowserLimits", "BrowserRenderer", "Rendering"]


@dataclass(frozen=True)
class BrowserLimits:
    """Bounds of the browser and of one render."""

    executable: str = "/usr/bin/chromium"
    max_contexts: int = 16
    """Contexts (cookie jars) kept at once, one per tenant and site; the least recently used is closed."""
    deadline_s: float = 15.0
    """Total time of one render."""
    max_requests: int = 200
    """Requests one render may make; later ones are aborted."""
    max_bytes: int = 20 * 1024 * 1024
    """Body bytes one render may load; later requests are aborted."""
    max_heap_mb: int = 256
    """V8 heap of the renderer (--max-old-space-size): a page that allocates without end is stopped."""


@dataclass
class Rendering:
    """The DOM after scripts ran, and what the guard refused on the way."""

    url: str
    html: str
    refused: list[str] = field(default_factory=list)
    """'url: reason' of each request the guard or a budget refused."""
    requests: int = 0
    bytes: int = 0


class BrowserRenderer:
    """A Chromium behind the guarded fetcher.

    Args:
        fetcher: Serves every request the browser makes.
        limits: Browser and render bounds.
    """

    def __init__(self, fetcher: Fetcher, limits: BrowserLimits | None = None) -> None:
        self._fetcher = fetcher
        self.limits = limits or BrowserLimits()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._contexts: OrderedDict[tuple[str, str], BrowserContext] = OrderedDict()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Launch the browser (once)."""
        async with self._lock:
            if self._browser is not None:
                return
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.limits.executable,
                headless=True,
                args=["--no-sandbox", f"--js-flags=--max-old-space-size={self.limits.max_heap_mb}"],
            )

    async def aclose(self) -> None:
        """Close every context, the browser and Playwright. Idempotent."""
        for context in self._contexts.values():
            await context.close()
        self._contexts.clear()
        browser, self._browser = self._browser, None
        if browser is not None:
            await browser.close()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            await playwright.stop()

    async def _context(self, tenant: str, site: str) -> BrowserContext:
        key = (tenant, site)
        found = self._contexts.get(key)
        if found is not None:
            self._contexts.move_to_end(key)
            return found
        if self._browser is None:
            await self.start()
        assert self._browser is not None
        context = await self._browser.new_context(
            accept_downloads=False, service_workers="block", permissions=[], java_script_enabled=True
        )
        context.on("page", self._close_popup)
        await context.route_web_socket("**/*", _refuse_web_socket)
        self._contexts[key] = context
        while len(self._contexts) > self.limits.max_contexts:
            _, oldest = self._contexts.popitem(last=False)
            await oldest.close()
        return context

    @staticmethod
    async def _close_popup(page: Page) -> None:
        if await page.opener() is not None:  # a window the page opened: never kept
            await page.close()

    async def render(self, url: str, *, tenant: str, wait_for: str = "", timeout_s: float | None = None) -> Rendering:
        """Load `url` in the tenant's context for its site and return the DOM after scripts ran.

        Args:
            url: The page.
            tenant: Whose cookie jar is used.
            wait_for: CSS selector to wait for ("" = until the network is idle).
            timeout_s: Total deadline (default: limits.deadline_s).

        Raises:
            DeadlineExceededError: The page did not finish within the deadline.
            AgentplaneError: The page itself was refused or failed (as from Fetch).
        """
        target = self._fetcher.validate(url)
        deadline = min(timeout_s or self.limits.deadline_s, self.limits.deadline_s)
        context = await self._context(tenant, target.host)
        rendering = Rendering(url=url, html="")
        failure: list[AgentplaneError] = []
        page = await context.new_page()

        async def route(r: Route) -> None:
            request = r.request
            rendering.requests += 1
            if rendering.requests > self.limits.max_requests or rendering.bytes > self.limits.max_bytes:
                rendering.refused.append(f"{request.url[:200]}: over the render's request or byte budget")
                await r.abort("blockedbyclient")
                return
            try:
                got = await self._fetcher.fetch(request.url, ttl_s=0.0, bypass_cache=False, timeout_s=deadline)
            except AgentplaneError as exc:
                rendering.refused.append(f"{request.url[:200]}: {exc.reason}")
                if request.is_navigation_request() and request.frame == page.main_frame:
                    failure.append(exc)
                await r.abort("blockedbyclient")
                return
            rendering.bytes += len(got.body)
            headers = {"content-type": got.media_type + (f"; charset={got.charset}" if got.charset else "")}
            await r.fulfill(status=got.status, headers=headers, body=got.body)

        await page.route("**/*", route)
        try:
            async with asyncio.timeout(deadline):
                await page.goto(url, wait_until="domcontentloaded")
                if wait_for:
                    await page.wait_for_selector(wait_for, state="attached")
                else:
                    await page.wait_for_load_state("networkidle")
                rendering.html = await page.content()
                rendering.url = page.url
        except TimeoutError:
            raise DeadlineExceededError(
                f"rendering {url} took longer than its deadline of {deadline:.3g} s", reason="RENDER_DEADLINE"
            ) from None
        except Exception as exc:  # Playwright's errors: the page crashed, was aborted, ran out of memory
            if failure:
                raise failure[0] from exc
            raise UnavailableError(
                f"the browser could not render {url}: {str(exc).splitlines()[0][:200]}", reason="RENDER_FAILED"
            ) from exc
        finally:
            await page.close()
        if failure:
            raise failure[0]
        return rendering


async def _refuse_web_socket(ws: WebSocketRoute) -> None:
    await ws.close(code=1008, reason="WebSockets are not allowed from rendered pages")

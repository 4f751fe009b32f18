"""Fetch + parse + view/extract: what Fetch, Extract and watched-source refreshes share.

Layer: domain. `Retriever` turns a URL into a `Retrieved` page (the fetch
outcome plus its lazily parsed `Page`) and memoises the page's rendered view on
the cache entry, so paging through a cached document parses it only once.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass

from agentplane.errors import InvalidArgumentError
from realtime.clock import Clock
from realtime.config import ExtractionLimits
from realtime.extraction import ExtractionResult, Schema
from realtime.fetching import Fetcher, FetchOutcome
from realtime.injection import InjectionReport, InjectionScanner
from realtime.page import Page, PageView
from realtime.volatility import Volatility, VolatilityPolicy

__all__ = ["Retrieved", "Retriever"]


@dataclass(frozen=True)
class Retrieved:
    """A fetched page and where it came from."""

    outcome: FetchOutcome
    page: Page

    def age_s(self, now: float) -> float:
        """Seconds since the body was downloaded or revalidated."""
        return max(0.0, now - self.outcome.fetched_at)


class Retriever:
    """Fetches pages and derives their views and extractions.

    Args:
        fetcher: The fetch pipeline.
        volatility: TTLs by volatility.
        scanner: Injection scanner.
        limits: Extraction bounds.
        clock: Time source.
        executor: Where pages are decoded and parsed (None = on the event loop).
    """

    def __init__(
        self,
        fetcher: Fetcher,
        volatility: VolatilityPolicy,
        scanner: InjectionScanner,
        limits: ExtractionLimits,
        clock: Clock,
        executor: Executor | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.executor = executor
        self.volatility = volatility
        self._scanner = scanner
        self._limits = limits
        self._clock = clock

    def now(self) -> float:
        """Wall-clock now (ages)."""
        return self._clock.now()

    async def retrieve(
        self,
        url: str,
        *,
        volatility: Volatility | None = None,
        bypass_cache: bool = False,
        timeout_s: float | None = None,
    ) -> Retrieved:
        """Fetch `url` (or serve it from cache) and wrap it as a page."""
        outcome = await self.fetcher.fetch(
            url, ttl_s=self.volatility.ttl_s(volatility), bypass_cache=bypass_cache, timeout_s=timeout_s
        )
        page = Page(outcome.body, outcome.media_type, outcome.charset, outcome.final_url, self._scanner)
        cached = outcome.entry is not None and "view" in outcome.entry.rendered
        if self.executor is not None and outcome.body and not cached:
            await asyncio.get_running_loop().run_in_executor(self.executor, page.prepare)
        return Retrieved(outcome, page)

    def view(self, retrieved: Retrieved) -> PageView:
        """The page's view, computed once per stored body."""
        entry = retrieved.outcome.entry
        cached = entry.rendered.get("view") if entry is not None else None
        if isinstance(cached, PageView):
            return cached
        view = retrieved.page.view()
        if entry is not None:
            entry.rendered["view"] = view
        return view

    def injection(self, retrieved: Retrieved) -> InjectionReport:
        """The page's injection report (reusing a computed view when there is one)."""
        entry = retrieved.outcome.entry
        cached = entry.rendered.get("view") if entry is not None else None
        if isinstance(cached, PageView):
            return cached.injection
        return retrieved.page.injection

    def extract(self, page: Page, schema: Schema) -> ExtractionResult:
        """Apply `schema` to `page`."""
        return page.extract(schema, self._limits.max_matches)

    def page_from_html(self, html: str, base_url: str) -> Page:
        """A page from inline HTML (Extract without fetching).

        Raises:
            InvalidArgumentError: The HTML is larger than the configured limit.
        """
        size = len(html.encode("utf-8", errors="ignore")) if len(html) * 4 > self._limits.max_html_bytes else len(html)
        if size > self._limits.max_html_bytes:
            raise InvalidArgumentError(
                f"inline html is {size} bytes; the limit is {self._limits.max_html_bytes} (extraction.max_html_bytes)",
                reason="HTML_TOO_LARGE",
            )
        return Page.from_html(html, base_url, self._scanner)

"""Fetch + parse + views/extract: what Fetch, Extract and watched-source refreshes share.

Layer: domain. `Retriever` turns a URL into a `Retrieved` page (the fetch
outcome plus its lazily parsed `Page`) and memoises each view of the page that
a caller asks for (title, markdown, text, links, injection report) on the cache
entry, so paging through a cached document parses and renders it only once, and
a view nobody asked for is never computed. Parsing runs on the event loop for
small bodies and on the parse threads for large ones (Lexbor releases the GIL
while parsing, but handing a page to a thread costs more than parsing a small one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

from agentplane.errors import InvalidArgumentError
from realtime.clock import Clock
from realtime.config import ExtractionLimits
from realtime.extraction import ExtractionResult, Schema
from realtime.fetching import Fetcher, FetchOutcome
from realtime.injection import InjectionReport, InjectionScanner
from realtime.nesting import NestingLimit
from realtime.page import DEFAULT_NESTING, Link, Page
from realtime.volatility import Volatility, VolatilityPolicy

__all__ = ["Retrieved", "Retriever", "View"]

View = Literal["title", "markdown", "text", "links", "injection", "body_injection"]
"""A derived view of a page that is memoised on its cache entry."""
_T = TypeVar("_T")


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
        executor: Where large pages are parsed (None = always on the event loop).
        inline_parse_max_bytes: Bodies up to this size are parsed on the event loop.
        nesting: How deeply HTML may nest (checked before parsing).
    """

    def __init__(
        self,
        fetcher: Fetcher,
        volatility: VolatilityPolicy,
        scanner: InjectionScanner,
        limits: ExtractionLimits,
        clock: Clock,
        executor: Executor | None = None,
        inline_parse_max_bytes: int = 0,
        nesting: NestingLimit = DEFAULT_NESTING,
    ) -> None:
        self.fetcher = fetcher
        self.nesting = nesting
        self.executor = executor
        self.volatility = volatility
        self.inline_parse_max_bytes = inline_parse_max_bytes
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
        """Fetch `url` (or serve it from cache) and wrap it as a page (not parsed yet; see `prepare`)."""
        outcome = await self.fetcher.fetch(
            url, ttl_s=self.volatility.ttl_s(volatility), bypass_cache=bypass_cache, timeout_s=timeout_s
        )
        page = Page(outcome.body, outcome.media_type, outcome.charset, outcome.final_url, self._scanner, self.nesting)
        return Retrieved(outcome, page)

    async def prepare(self, retrieved: Retrieved, *views: View) -> None:
        """Parse the page now unless every one of `views` is memoised (none given: always).

        Large bodies are parsed on the executor so the event loop keeps serving.
        """
        page = retrieved.page
        if page.parsed or not page.size_bytes:
            return
        entry = retrieved.outcome.entry
        if views and entry is not None and all(v in entry.rendered for v in views):
            return
        if self.executor is None or page.size_bytes <= self.inline_parse_max_bytes:
            page.prepare()
        else:
            await asyncio.get_running_loop().run_in_executor(self.executor, page.prepare)

    def _memo(self, retrieved: Retrieved, view: View, compute: Callable[[], _T]) -> _T:
        entry = retrieved.outcome.entry
        if entry is None:
            return compute()
        if view in entry.rendered:
            return cast(_T, entry.rendered[view])
        value = compute()
        entry.rendered[view] = value
        return value

    def title(self, retrieved: Retrieved) -> str:
        """The page's title, computed once per stored body."""
        return self._memo(retrieved, "title", lambda: retrieved.page.title)

    def markdown(self, retrieved: Retrieved) -> str:
        """The page's markdown, computed once per stored body."""
        return self._memo(retrieved, "markdown", lambda: retrieved.page.markdown)

    def text(self, retrieved: Retrieved) -> str:
        """The page's plain text, computed once per stored body."""
        return self._memo(retrieved, "text", lambda: retrieved.page.text)

    def links(self, retrieved: Retrieved, limit: int) -> list[Link]:
        """Up to `limit` links of the page, computed once per stored body and limit."""
        memo = self._memo(retrieved, "links", lambda: (limit, retrieved.page.links(limit)))
        return memo[1] if memo[0] == limit else retrieved.page.links(limit)

    def injection(self, retrieved: Retrieved) -> InjectionReport:
        """The page's full injection report (see `Page.injection`), computed once per stored body.

        Call it after rendering the format you need: the scan reuses that rendering's visible text.
        """
        return self._memo(retrieved, "injection", lambda: retrieved.page.injection)

    def body_injection(self, retrieved: Retrieved) -> InjectionReport:
        """The injection report without rendering (see `Page.body_injection`); the full one when known."""
        entry = retrieved.outcome.entry
        if entry is not None and "injection" in entry.rendered:
            return cast(InjectionReport, entry.rendered["injection"])
        return self._memo(retrieved, "body_injection", lambda: retrieved.page.body_injection)

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
        return Page.from_html(html, base_url, self._scanner, self.nesting)

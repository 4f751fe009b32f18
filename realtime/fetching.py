"""The fetch pipeline: validate, guard, obey robots.txt, be polite, cache, retry, follow redirects.

Layer: domain. One `Fetcher.fetch` call is one total deadline: robots.txt,
waiting for the host's slot, retries with back-off, every redirect hop and the
body all happen within it. Redirects are followed here (never by the HTTP
client) so every hop is validated, checked by the SSRF guard and robots.txt, and
counted against the redirect limit. Conditional requests revalidate stale cache
entries; a 304 reuses the stored body.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass
from urllib.parse import urljoin

from agentplane import request_context
from agentplane.errors import (
    AgentplaneError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    UnavailableError,
)
from agentplane.resilience import retry_call
from realtime.cache import CachedResponse, ResponseCache, freshness_ttl_s
from realtime.clock import Clock
from realtime.config import FetchSettings
from realtime.metrics import RealtimeMetrics
from realtime.politeness import HostGates
from realtime.robots import RobotsPolicy
from realtime.ssrf import AddressPolicy
from realtime.transport import BodyLimits, HttpTransport, RawResponse
from realtime.urls import Target, parse_url

__all__ = ["FetchOutcome", "Fetcher", "parse_retry_after"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TRANSIENT = frozenset({"UPSTREAM_THROTTLED", "UPSTREAM_ERROR", "CONNECT_FAILED", "CONNECTION_LOST", "CONNECT_TIMEOUT"})
_ROBOTS_REDIRECTS = 5


@dataclass(frozen=True)
class FetchOutcome:
    """A fetched (or cached) response ready for parsing."""

    url: str
    final_url: str
    status: int
    media_type: str
    charset: str | None
    body: bytes
    fetched_at: float
    from_cache: bool
    revalidated: bool
    redirects: int
    wire_bytes: int
    entry: CachedResponse | None
    """The cache entry holding this body (derived views are memoised on it)."""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, UnavailableError) and exc.reason in _TRANSIENT


class _Progress:
    """Where a fetch is, for actionable deadline messages."""

    __slots__ = ("hop", "stage")

    def __init__(self, hop: str) -> None:
        self.stage = "starting"
        self.hop = hop


class Fetcher:
    """Fetches pages politely and safely.

    Args:
        settings: The [realtime.fetch] block.
        transport: One-GET network seam.
        policy: The SSRF address policy.
        robots: robots.txt rules cache.
        gates: Per-host politeness.
        cache: Shared response cache.
        clock: Time source.
        metrics: Where fetch outcomes and bytes are counted (None: not counted).
    """

    def __init__(
        self,
        settings: FetchSettings,
        transport: HttpTransport,
        policy: AddressPolicy,
        robots: RobotsPolicy,
        gates: HostGates,
        cache: ResponseCache,
        clock: Clock,
        metrics: RealtimeMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._transport = transport
        self._policy = policy
        self._robots = robots
        self._gates = gates
        self._cache = cache
        self._clock = clock
        self._retry = settings.retry.policy()
        self._budget = settings.retry.budget(clock=clock.monotonic)
        self._page_limits = BodyLimits(
            settings.max_body_bytes,
            settings.max_decompressed_bytes,
            frozenset(t.lower() for t in settings.allowed_content_types),
        )
        self._headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate, br"}

    def validate(self, url: str) -> Target:
        """Parse `url` and apply the SSRF guard to its literal host or name (no I/O).

        Raises:
            InvalidArgumentError: Not a valid http(s) URL.
            PermissionDeniedError: The host is forbidden.
        """
        target = parse_url(url)
        self._policy.check_target(target)
        return target

    def deadline_s(self, timeout_s: float | None) -> float:
        """The total deadline of a fetch: the asked or default one, capped by the call's deadline."""
        wanted = min(timeout_s or self._settings.timeout_s, self._settings.max_timeout_s)
        left = request_context.remaining_s()
        return wanted if left is None else min(wanted, left)

    async def fetch(
        self, url: str, *, ttl_s: float, bypass_cache: bool = False, timeout_s: float | None = None
    ) -> FetchOutcome:
        """Fetch `url` within one total deadline.

        Args:
            url: Absolute http(s) URL.
            ttl_s: Freshness ceiling for the cache (from the volatility).
            bypass_cache: Ignore a fresh cache entry (a stale one is still revalidated).
            timeout_s: Total deadline; None = the configured default.

        Raises:
            InvalidArgumentError, PermissionDeniedError, FailedPreconditionError,
            ResourceExhaustedError, DeadlineExceededError, UnavailableError.
        """
        if self._metrics is None:
            return await self._fetch_within_deadline(url, ttl_s, bypass_cache, timeout_s)
        try:
            outcome = await self._fetch_within_deadline(url, ttl_s, bypass_cache, timeout_s)
        except AgentplaneError as exc:
            self._metrics.failed(exc)
            raise
        self._metrics.fetched(
            from_cache=outcome.from_cache, revalidated=outcome.revalidated, wire_bytes=outcome.wire_bytes
        )
        return outcome

    async def _fetch_within_deadline(
        self, url: str, ttl_s: float, bypass_cache: bool, timeout_s: float | None
    ) -> FetchOutcome:
        target = self.validate(url)
        deadline = self.deadline_s(timeout_s)
        if deadline <= 0:
            raise DeadlineExceededError(f"no time left to fetch {target.url}", reason="FETCH_DEADLINE")
        progress = _Progress(target.url)
        try:
            with request_context.deadline_scope(deadline):
                async with asyncio.timeout(deadline):
                    return await self._fetch(target, ttl_s, bypass_cache, progress)
        except TimeoutError:
            raise DeadlineExceededError(
                f"fetching {target.url} took longer than its deadline of {deadline:.3g} s "
                f"(stopped while {progress.stage}: {progress.hop}); raise options.timeout_ms or try later",
                reason="FETCH_DEADLINE",
                metadata={"url": target.url[:200], "stage": progress.stage},
            ) from None

    async def _fetch(self, target: Target, ttl_s: float, bypass_cache: bool, progress: _Progress) -> FetchOutcome:
        entry = self._cache.get(target.url, self._clock.monotonic()) if self._cache.enabled else None
        if entry is not None and not bypass_cache and entry.fresh_until > self._clock.monotonic():
            return self._from_entry(target.url, entry, revalidated=False)
        hop, redirects, seen = target, 0, {target.url}
        while True:
            await self._obey_robots(hop, progress)
            conditional = entry.conditional_headers() if entry is not None and entry.final_url == hop.url else {}
            resp = await self._request(hop, conditional, self._page_limits, progress)
            location = resp.headers.get("location")
            if resp.status in _REDIRECTS and location:
                redirects += 1
                hop = self._next_hop(hop, location, redirects, seen)
                progress.hop = hop.url
                continue
            if resp.status == 304 and entry is not None and conditional:
                return self._revalidated(target.url, entry, resp, ttl_s, redirects)
            return self._store(target.url, resp, ttl_s, redirects)

    def _next_hop(self, hop: Target, location: str, redirects: int, seen: set[str]) -> Target:
        if redirects > self._settings.max_redirects:
            raise FailedPreconditionError(
                f"{hop.url} redirected more than {self._settings.max_redirects} times (max_redirects)",
                reason="TOO_MANY_REDIRECTS",
                metadata={"url": hop.url[:200]},
            )
        try:
            nxt = parse_url(urljoin(hop.url, location))
        except InvalidArgumentError as exc:
            raise FailedPreconditionError(
                f"{hop.url} redirected to an unusable location {location[:200]!r}: {exc.message}",
                reason="BAD_REDIRECT",
            ) from exc
        self._policy.check_target(nxt)
        if nxt.url in seen:
            raise FailedPreconditionError(
                f"redirect loop: {hop.url} leads back to {nxt.url}", reason="REDIRECT_LOOP", metadata={"url": nxt.url}
            )
        seen.add(nxt.url)
        return nxt

    async def _obey_robots(self, hop: Target, progress: _Progress) -> None:
        if not self._robots.enabled:
            return
        progress.stage = "reading robots.txt"
        rules = await self._robots.rules_for(hop, self._load_robots)
        if rules.crawl_delay_s:
            self._gates.set_crawl_delay(hop.host, rules.crawl_delay_s)
        self._robots.check(rules, hop)

    async def _load_robots(self, url: str) -> tuple[int, bytes]:
        limits = BodyLimits(self._settings.max_body_bytes, self._robots_bytes(), None, truncate=True)
        hop = self.validate(url)
        progress = _Progress(url)
        for _ in range(_ROBOTS_REDIRECTS + 1):
            try:
                resp = await self._request(hop, {}, limits, progress)
            except UnavailableError as exc:
                if exc.reason in ("UPSTREAM_THROTTLED", "UPSTREAM_ERROR"):
                    return 503, b""
                raise
            location = resp.headers.get("location")
            if resp.status not in _REDIRECTS or not location:
                return resp.status, resp.body
            try:
                hop = self.validate(urljoin(hop.url, location))
            except InvalidArgumentError:
                return 404, b""
        return 404, b""  # RFC 9309: more than five redirects = unavailable = no restrictions

    def _robots_bytes(self) -> int:
        return min(self._settings.max_decompressed_bytes, 512 * 1024)

    async def _request(
        self, hop: Target, extra: dict[str, str], limits: BodyLimits, progress: _Progress
    ) -> RawResponse:
        headers = {**self._headers, **extra} if extra else self._headers
        attempts = 0

        async def attempt(_: int) -> RawResponse:
            nonlocal attempts
            attempts += 1
            progress.stage = "waiting for a slot of the host"
            async with self._gates.slot(hop.host):
                progress.stage = "downloading"
                resp = await self._transport.get(hop.url, headers, limits)
            if resp.status in (429, 503):
                asked = parse_retry_after(resp.headers.get("retry-after"), self._clock.now())
                self._gates.record_throttle(hop.host, asked)
                raise UnavailableError(
                    f"{hop.url} answered {resp.status} after {attempts} attempt(s)"
                    + (f"; it asks to retry after {asked:.0f} s" if asked is not None else ""),
                    reason="UPSTREAM_THROTTLED",
                    retry_after_s=asked,
                    metadata={"url": hop.url[:200], "status": str(resp.status)},
                )
            if resp.status >= 500:
                raise UnavailableError(
                    f"{hop.url} answered {resp.status} after {attempts} attempt(s)",
                    reason="UPSTREAM_ERROR",
                    metadata={"url": hop.url[:200], "status": str(resp.status)},
                )
            self._gates.record_success(hop.host)
            return resp

        def on_retry(number: int, exc: BaseException, delay: float) -> None:
            progress.stage = f"backing off {delay:.2g} s before retry {number}"

        try:
            return await retry_call(
                attempt,
                self._retry,
                budget=self._budget,
                retryable=_transient,
                sleep=self._clock.sleep,
                on_retry=on_retry,
            )
        except AgentplaneError as exc:
            if _transient(exc) and exc.retry_after_s is None:
                exc.retry_after_s = self._settings.retry.max_delay_s
            raise

    def _from_entry(self, url: str, entry: CachedResponse, *, revalidated: bool) -> FetchOutcome:
        return FetchOutcome(
            url=url,
            final_url=entry.final_url,
            status=entry.status,
            media_type=entry.content_type,
            charset=entry.charset,
            body=entry.body,
            fetched_at=entry.fetched_at,
            from_cache=True,
            revalidated=revalidated,
            redirects=entry.redirects,
            wire_bytes=entry.wire_bytes,
            entry=entry,
        )

    def _revalidated(
        self, url: str, entry: CachedResponse, resp: RawResponse, ttl_s: float, redirects: int
    ) -> FetchOutcome:
        entry.cache_control = resp.headers.get("cache-control", entry.cache_control)
        ttl = freshness_ttl_s({"cache-control": entry.cache_control}, ttl_s)
        now = self._clock.monotonic()
        entry.fetched_at = self._clock.now()
        entry.fresh_until = now + (ttl or 0.0)
        entry.keep_until = self._cache.keep_until(entry.fresh_until, entry.has_validators)
        entry.etag = resp.headers.get("etag", entry.etag)
        entry.last_modified = resp.headers.get("last-modified", entry.last_modified)
        entry.redirects = redirects
        return self._from_entry(url, entry, revalidated=True)

    def _store(self, url: str, resp: RawResponse, ttl_s: float, redirects: int) -> FetchOutcome:
        now_wall = self._clock.now()
        entry: CachedResponse | None = None
        ttl = freshness_ttl_s(resp.headers, ttl_s) if resp.status == 200 else None
        if ttl is not None and self._cache.enabled:
            fresh_until = self._clock.monotonic() + ttl
            etag, modified = resp.headers.get("etag"), resp.headers.get("last-modified")
            entry = CachedResponse(
                final_url=resp.url,
                status=resp.status,
                content_type=resp.media_type,
                charset=resp.charset,
                body=resp.body,
                etag=etag,
                last_modified=modified,
                fetched_at=now_wall,
                fresh_until=fresh_until,
                keep_until=self._cache.keep_until(fresh_until, bool(etag or modified)),
                redirects=redirects,
                wire_bytes=resp.wire_bytes,
                cache_control=resp.headers.get("cache-control", ""),
            )
            if ttl > 0 or entry.has_validators:
                self._cache.put(url, entry)
        return FetchOutcome(
            url=url,
            final_url=resp.url,
            status=resp.status,
            media_type=resp.media_type,
            charset=resp.charset,
            body=resp.body,
            fetched_at=now_wall,
            from_cache=False,
            revalidated=False,
            redirects=redirects,
            wire_bytes=resp.wire_bytes,
            entry=entry,
        )

"""The response cache: bodies with validators, TTL by volatility, LRU bounded by bytes.

Layer: domain. Shared across tenants on purpose: the fetcher never sends
credentials or cookies, so a page is the same public resource for every tenant;
responses marked `private` or `no-store` are never stored. Expired entries that
carry an ETag or Last-Modified are kept a while longer so the next fetch can
revalidate them with a conditional request (a 304 reuses the stored body).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from realtime.config import CacheSettings

__all__ = ["CachedResponse", "ResponseCache", "freshness_ttl_s"]


@dataclass
class CachedResponse:
    """A stored response and its validators."""

    final_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None
    last_modified: str | None
    fetched_at: float
    """Wall-clock time of the last download or revalidation."""
    fresh_until: float
    """Monotonic time until which the entry is served without asking the origin."""
    keep_until: float
    """Monotonic time until which the entry is kept for revalidation."""
    redirects: int = 0
    wire_bytes: int = 0
    cache_control: str = ""
    """The response's Cache-Control (a 304 without one keeps it, RFC 9111 section 4.3.4)."""
    rendered: dict[str, Any] = field(default_factory=dict)
    """Derived views (parsed page), computed once per stored body."""

    @property
    def has_validators(self) -> bool:
        """Whether a conditional request can revalidate the entry."""
        return bool(self.etag or self.last_modified)

    def conditional_headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a revalidation."""
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _directives(cache_control: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in cache_control.lower().split(","):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value.strip().strip('"')
    return out


def freshness_ttl_s(headers: Mapping[str, str], volatility_ttl_s: float) -> float | None:
    """Seconds a response may be served from cache; None when it must not be stored.

    The volatility's TTL is the ceiling; `max-age`/`s-maxage` lower it, `no-cache`
    makes it 0 (store, but revalidate every time), and `no-store`/`private` forbid a
    shared cache from keeping it.
    """
    directives = _directives(headers.get("cache-control", ""))
    if "no-store" in directives or "private" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    for name in ("s-maxage", "max-age"):
        if name in directives:
            try:
                return max(0.0, min(volatility_ttl_s, float(directives[name])))
            except ValueError:
                return 0.0
    return volatility_ttl_s


class ResponseCache:
    """LRU of responses keyed by normalised request URL.

    Args:
        settings: The [realtime.cache] block.
    """

    def __init__(self, settings: CacheSettings) -> None:
        self._settings = settings
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is cached."""
        return self._settings.enabled and self._settings.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes of stored bodies."""
        return self._bytes

    def get(self, key: str, now_mono: float) -> CachedResponse | None:
        """The entry for `key`, fresh or stale, unless it is past its keep time."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.keep_until <= now_mono:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: CachedResponse) -> None:
        """Store `entry` (replacing any older one), then evict down to the limits."""
        if not self.enabled or len(entry.body) > self._settings.max_bytes:
            self._drop(key)
            return
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while self._entries and (
            len(self._entries) > self._settings.max_entries or self._bytes > self._settings.max_bytes
        ):
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def keep_until(self, fresh_until: float, has_validators: bool) -> float:
        """How long an entry fresh until `fresh_until` stays stored."""
        return fresh_until + (self._settings.stale_keep_s if has_validators else 0.0)

    def _drop(self, key: str) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)

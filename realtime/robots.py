"""robots.txt per origin (RFC 9309), parsed with protego and cached with a TTL.

Layer: domain. The robots file itself is fetched through a loader the fetcher
supplies (the same guarded, polite transport as pages). Status handling follows
RFC 9309 section 2.3.1: 2xx is parsed; 4xx means no restrictions; 5xx, 429 and
an unreachable robots.txt (server errors) mean "disallow everything" for a short while. Concurrent first
requests to one origin share one download.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from agentplane.errors import PermissionDeniedError
from realtime.clock import Clock
from realtime.config import RobotsSettings
from realtime.urls import Target

__all__ = ["RobotsLoader", "RobotsPolicy", "RobotsRules"]

RobotsLoader = Callable[[str], Awaitable[tuple[int, bytes]]]
"""Fetches a robots.txt URL; returns (status, body). Raises AgentplaneError when unreachable."""


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one origin: parsed, allow-all or disallow-all."""

    parser: Protego | None
    allow_all: bool
    expires_at: float
    crawl_delay_s: float | None = None

    def allows(self, url: str, token: str) -> bool:
        """Whether `url` may be fetched by the product token `token`."""
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, token))


class RobotsPolicy:
    """Answers "may we fetch this URL?" from cached robots.txt files.

    Args:
        settings: The [realtime.robots] block.
        token: Our product token, matched against User-agent lines.
        clock: Time source for the cache TTL.
    """

    def __init__(self, settings: RobotsSettings, token: str, clock: Clock) -> None:
        self._settings = settings
        self._token = token
        self._clock = clock
        self._rules: OrderedDict[str, RobotsRules] = OrderedDict()
        self._loading: dict[str, asyncio.Future[RobotsRules]] = {}

    @property
    def enabled(self) -> bool:
        """Whether robots.txt is obeyed at all."""
        return self._settings.obey

    async def rules_for(self, target: Target, load: RobotsLoader) -> RobotsRules:
        """The rules of `target`'s origin, downloading robots.txt when not cached or expired."""
        origin = target.origin
        cached = self._rules.get(origin)
        if cached is not None and cached.expires_at > self._clock.monotonic():
            self._rules.move_to_end(origin)
            return cached
        pending = self._loading.get(origin)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RobotsRules] = asyncio.get_running_loop().create_future()
        self._loading[origin] = future
        try:
            rules = await self._download(origin, load)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters get it through shield
            raise
        finally:
            self._loading.pop(origin, None)
        future.set_result(rules)
        self._rules[origin] = rules
        while len(self._rules) > self._settings.max_hosts:
            self._rules.popitem(last=False)
        return rules

    async def _download(self, origin: str, load: RobotsLoader) -> RobotsRules:
        now = self._clock.monotonic()
        ok_until = now + self._settings.ttl_s
        # Connection failures propagate (UNAVAILABLE): the page itself is unreachable too.
        status, body = await load(f"{origin}/robots.txt")
        if 200 <= status < 300:
            text = body[: self._settings.max_bytes].decode("utf-8", errors="replace")
            parser = Protego.parse(text)
            delay = parser.crawl_delay(self._token)
            return RobotsRules(parser, allow_all=True, expires_at=ok_until, crawl_delay_s=delay)
        if status == 429 or status >= 500:
            return RobotsRules(None, allow_all=False, expires_at=now + self._settings.unreachable_ttl_s)
        return RobotsRules(None, allow_all=True, expires_at=ok_until)

    def check(self, rules: RobotsRules, target: Target) -> None:
        """Refuse `target` when the rules disallow it.

        Raises:
            PermissionDeniedError: reason ROBOTS_DISALLOWED.
        """
        if not rules.allows(target.url, self._token):
            why = "robots.txt disallows it" if rules.parser is not None else "robots.txt is unreachable (RFC 9309)"
            raise PermissionDeniedError(
                f"refused to fetch {target.url}: {why} for user agent {self._token!r}",
                reason="ROBOTS_DISALLOWED",
                metadata={"url": target.url[:200], "robots": f"{target.origin}/robots.txt"},
            )

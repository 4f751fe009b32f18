"""The shared response cache on Redis (every replica reads what any replica wrote).

Layer: adapters (outbound I/O). Implements `gateway.cache.ResponseCache`. The
cache must never fail or slow a request much: every Redis call is bounded by
`redis_timeout_s`, and any Redis error or timeout reads as a miss (or a skipped
write), logged at most once per `_LOG_EVERY_S`.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from gateway.cache import decode_entry, encode_entry
from gateway.config import CacheSettings
from gateway.models import ChatResult

__all__ = ["RedisCache"]

log = logging.getLogger(__name__)
_LOG_EVERY_S = 30.0


class RedisCache:
    """Answers kept in Redis under `key_prefix`, with a TTL per entry.

    Args:
        settings: Cache settings (URL, prefix, timeout, entry size).
        prefix: Overrides `settings.key_prefix` (tests use a unique one).
    """

    def __init__(self, settings: CacheSettings, *, prefix: str | None = None) -> None:
        self._prefix = settings.key_prefix if prefix is None else prefix
        self._max_entry_bytes = settings.max_entry_bytes
        self._client = redis_asyncio.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
        )
        self._last_log = 0.0

    def _warn(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY_S:
            self._last_log = now
            log.warning("redis cache %s failed (%s: %s); serving without the cache", what, type(exc).__name__, exc)

    async def get(self, key: str) -> ChatResult | None:
        """The stored answer, or None (also on any Redis failure or a corrupt entry)."""
        try:
            raw = await self._client.get(self._prefix + key)
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn("read", exc)
            return None
        if raw is None:
            return None
        try:
            return decode_entry(raw if isinstance(raw, bytes) else raw.encode())
        except ValueError as exc:
            self._warn("decode", exc)
            return None

    async def set(self, key: str, result: ChatResult, ttl_s: int) -> None:
        """Store an answer for `ttl_s` seconds (skipped when too large or Redis fails)."""
        raw = encode_entry(result)
        if len(raw) > self._max_entry_bytes:
            return
        try:
            await self._client.set(self._prefix + key, raw, ex=ttl_s)
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn("write", exc)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

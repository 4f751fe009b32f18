"""Usage counters in Redis, shared by every gateway replica.

Layer: adapters (outbound I/O). Implements `gateway.usage.UsageStore`: one hash
per (period, tenant) under `key_prefix`, with tenant totals in plain fields and
per-deployment counters in `alias<US>deployment<US>field` fields. Increments are
atomic (HINCRBY / HINCRBYFLOAT), so replicas flushing at once lose nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as redis_asyncio

from gateway.usage import Counters, UsageKey

__all__ = ["RedisUsageStore"]

_SEP = "\x1f"
_FIELDS = ("requests", "input_tokens", "output_tokens", "cost_usd", "cache_hits")
_DAY_TTL_S = 3 * 86400
_MONTH_TTL_S = 62 * 86400


class RedisUsageStore:
    """Counters in Redis hashes.

    Args:
        url: Redis URL.
        prefix: Key prefix (tests use a unique one).
        timeout_s: Socket timeout of every call.
    """

    shared = True

    def __init__(self, url: str, prefix: str, timeout_s: float = 2.0) -> None:
        self._prefix = prefix
        self._client = redis_asyncio.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, decode_responses=True
        )

    def _key(self, period: str, tenant: str) -> str:
        return f"{self._prefix}{period}{_SEP}{tenant}"

    async def load(self, periods: Sequence[str]) -> dict[UsageKey, Counters]:
        """Every stored key of the given periods."""
        keys: list[str] = []
        for period in periods:
            keys += [k async for k in self._client.scan_iter(match=f"{self._prefix}{period}{_SEP}*", count=500)]
        if not keys:
            return {}
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        hashes = await pipe.execute()
        out: dict[UsageKey, Counters] = {}
        for key, fields in zip(keys, hashes, strict=True):
            period, tenant = key[len(self._prefix) :].split(_SEP, 1)
            for name, value in fields.items():
                *where, field = name.split(_SEP)
                alias, deployment = (where[0], where[1]) if len(where) == 2 else ("", "")
                if field not in _FIELDS:
                    continue
                counters = out.setdefault((tenant, period, alias, deployment), Counters())
                setattr(counters, field, float(value) if field == "cost_usd" else int(float(value)))
        return out

    async def add(self, deltas: dict[UsageKey, Counters]) -> None:
        """Add the deltas atomically per field."""
        pipe = self._client.pipeline(transaction=False)
        touched: dict[str, int] = {}
        for (tenant, period, alias, deployment), c in deltas.items():
            key = self._key(period, tenant)
            touched[key] = _DAY_TTL_S if len(period) == 10 else _MONTH_TTL_S
            base = f"{alias}{_SEP}{deployment}{_SEP}" if deployment else ""
            for field in ("requests", "input_tokens", "output_tokens", "cache_hits"):
                value = getattr(c, field)
                if value:
                    pipe.hincrby(key, base + field, value)
            if c.cost_usd:
                pipe.hincrbyfloat(key, base + "cost_usd", c.cost_usd)
        for key, ttl in touched.items():
            pipe.expire(key, ttl)
        await pipe.execute()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

"""Exact-match response cache: canonical keys, the cache policy, the in-memory LRU.

Layer: domain. The key is a BLAKE2b hash of the tenant, the alias and everything
that changes the output (messages, sampling parameters, token cap, stop
sequences, seed, logprobs, tools, response format, sensitivity class, PII
redaction), so two tenants never share an entry. Only successful answers are
stored; sampling requests (temperature > 0, or none given with no alias default)
are cached only when the request allows it. `ResponseCache` is the seam for the
shared Redis backend (`gateway.adapters.redis_cache`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from gateway.config import CacheSettings
from gateway.models import CacheMode, ChatRequest, ChatResult, Completion, TokenLogprob, ToolCall, Usage

__all__ = [
    "MemoryCache",
    "ResponseCache",
    "cache_key",
    "decode_entry",
    "encode_entry",
    "entry_size",
    "from_cache",
    "is_cacheable",
]


class ResponseCache(Protocol):
    """Where answers are kept; a backend failure must read as a miss, never raise."""

    async def get(self, key: str) -> ChatResult | None:
        """The stored answer, or None."""
        ...

    async def set(self, key: str, result: ChatResult, ttl_s: int) -> None:
        """Store an answer for `ttl_s` seconds."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def is_cacheable(request: ChatRequest, settings: CacheSettings) -> bool:
    """Whether the request may read or write the cache (after defaults were applied)."""
    if not settings.enabled or request.cache_mode is CacheMode.BYPASS:
        return False
    temperature = request.temperature
    return request.cache_allow_sampling or (temperature is not None and temperature == 0.0)


def cache_key(tenant: str, request: ChatRequest) -> str:
    """The canonical key of a request for `tenant` (after defaults and caps were applied)."""
    messages = [
        [m.role, m.content, m.name, m.tool_call_id, [[c.id, c.name, c.arguments_json] for c in m.tool_calls]]
        for m in request.messages
    ]
    tools = [[t.name, t.description, t.parameters] for t in request.tools]
    canonical = json.dumps(
        [
            tenant,
            request.model,
            messages,
            request.temperature,
            request.top_p,
            request.max_tokens,
            list(request.stop),
            request.seed,
            request.logprobs,
            request.top_logprobs if request.logprobs else 0,
            tools,
            request.tool_choice,
            request.response_format,
            request.sensitivity.sensitive,
            request.redact_pii,
        ],
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.blake2b(canonical.encode(), digest_size=20).hexdigest()
    return f"{request.model}:{digest}"


def from_cache(result: ChatResult, new_id: str) -> ChatResult:
    """A stored answer as served to a caller: new id, a cache hit, nothing paid."""
    usage = Usage(result.usage.input_tokens, result.usage.output_tokens, 0.0, 0, result.usage.estimated)
    return replace(result, id=new_id, usage=usage, cache_hit=True, attempts=[])


def entry_size(result: ChatResult) -> int:
    """Approximate size in bytes of a stored answer."""
    completion = result.completion
    size = 256 + len(completion.content) + sum(len(c.arguments_json) + 64 for c in completion.tool_calls)
    if completion.logprobs:
        size += sum(48 + len(lp.token) + 24 * len(lp.top) for lp in completion.logprobs)
    return size


def encode_entry(result: ChatResult) -> bytes:
    """Serialise an answer for a shared backend."""
    c = result.completion
    doc: dict[str, Any] = {
        "alias": result.alias,
        "deployment": result.deployment,
        "provider": result.provider,
        "residency": result.residency,
        "pii": result.pii_redacted,
        "content": c.content,
        "finish": c.finish_reason,
        "calls": [[t.id, t.name, t.arguments_json] for t in c.tool_calls],
        "lp": None if c.logprobs is None else [[lp.token, lp.logprob, lp.top] for lp in c.logprobs],
        "usage": [result.usage.input_tokens, result.usage.output_tokens, result.usage.estimated],
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode_entry(raw: bytes) -> ChatResult:
    """Inverse of `encode_entry`.

    Raises:
        ValueError: The bytes are not an entry (the caller treats it as a miss).
    """
    try:
        doc = json.loads(raw)
        logprobs = None
        if doc["lp"] is not None:
            logprobs = [TokenLogprob(t, float(v), tuple((a, float(b)) for a, b in top)) for t, v, top in doc["lp"]]
        completion = Completion(
            content=doc["content"],
            finish_reason=doc["finish"],
            tool_calls=tuple(ToolCall(i, n, a) for i, n, a in doc["calls"]),
            logprobs=logprobs,
        )
        inp, out, estimated = doc["usage"]
        return ChatResult(
            id="",
            alias=doc["alias"],
            deployment=doc["deployment"],
            provider=doc["provider"],
            residency=doc["residency"],
            completion=completion,
            usage=Usage(int(inp), int(out), 0.0, 0, bool(estimated)),
            pii_redacted=bool(doc["pii"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a cache entry: {exc}") from exc


class MemoryCache:
    """A per-process LRU with per-entry expiry.

    Args:
        max_entries: Capacity; the least recently used entry goes first.
        max_entry_bytes: Larger answers are not stored.
        clock: Monotonic clock (injectable).
    """

    def __init__(self, max_entries: int, max_entry_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, ChatResult]] = OrderedDict()
        self._max_entries = max_entries
        self._max_entry_bytes = max_entry_bytes
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> ChatResult | None:
        """The live entry for `key`, or None (expired entries are dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def set(self, key: str, result: ChatResult, ttl_s: int) -> None:
        """Store `result` for `ttl_s` seconds, evicting the least recently used beyond capacity."""
        if entry_size(result) > self._max_entry_bytes:
            return
        self._entries[key] = (self._clock() + ttl_s, result)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def aclose(self) -> None:
        """Drop every entry."""
        self._entries.clear()

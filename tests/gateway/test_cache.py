"""The response cache: keys, policy, LRU, single-flight, and the Redis backend shared by replicas."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio

from agentplane.errors import UnavailableError
from agentplane.rpc import stream, unary
from agentplane.v1 import gateway_pb2
from gateway.adapters.redis_cache import RedisCache
from gateway.cache import MemoryCache, cache_key, decode_entry, encode_entry, is_cacheable
from gateway.config import CacheSettings
from gateway.models import CacheMode, ChatRequest, ChatResult, Completion, Message, Sensitivity, TokenLogprob, Usage
from gateway.server import CORE
from tests.gateway.conftest import REDIS_URL, Harness, ManualClock, running_gateway, user
from tests.support.fake_llm import Fault

Mode = gateway_pb2.CachePolicy


def policy(mode: int = Mode.MODE_USE, **fields: object) -> gateway_pb2.CachePolicy:
    return gateway_pb2.CachePolicy(mode=mode, **fields)  # type: ignore[arg-type]


def request(**fields: object) -> ChatRequest:
    fields.setdefault("temperature", 0.0)
    return ChatRequest(model="general", messages=[Message("user", "hi")], **fields)  # type: ignore[arg-type]


def result(content: str = "hello") -> ChatResult:
    completion = Completion(content, "stop", logprobs=[TokenLogprob("hello", -0.1, (("hello", -0.1), ("hi", -2.0)))])
    return ChatResult("id", "general", "dep", "openai", "on_prem", completion, Usage(5, 1, 0.01, 1))


# --- keys and policy ------------------------------------------------------------------


def test_key_separates_tenants_and_every_output_changing_parameter() -> None:
    base = cache_key("acme", request())
    assert cache_key("acme", request()) == base
    assert cache_key("globex", request()) != base
    variants = [
        request(max_tokens=10),
        request(stop=("x",)),
        request(seed=1),
        request(logprobs=True),
        request(top_p=0.5),
        request(response_format="json_object"),
        request(sensitivity=Sensitivity.CONFIDENTIAL),
        request(redact_pii=True),
        ChatRequest(model="general", messages=[Message("user", "hi!")], temperature=0.0),
        ChatRequest(model="other", messages=[Message("user", "hi")], temperature=0.0),
    ]
    keys = {cache_key("acme", r) for r in variants}
    assert base not in keys and len(keys) == len(variants)
    assert cache_key("acme", request(metadata={"task": "1"})) == base, "metadata does not change the answer"


def test_only_greedy_or_explicitly_allowed_requests_are_cacheable() -> None:
    on = CacheSettings()
    assert is_cacheable(request(), on)
    assert not is_cacheable(request(temperature=0.7), on)
    assert not is_cacheable(ChatRequest(model="m", messages=[]), on), "no temperature = the provider's sampling default"
    assert is_cacheable(request(temperature=0.7, cache_allow_sampling=True), on)
    assert not is_cacheable(request(cache_mode=CacheMode.BYPASS), on)
    assert not is_cacheable(request(), CacheSettings(enabled=False))


def test_entries_survive_serialisation() -> None:
    back = decode_entry(encode_entry(result()))
    assert back.completion.content == "hello"
    assert back.completion.logprobs == result().completion.logprobs
    with pytest.raises(ValueError):
        decode_entry(b"not an entry")


async def test_memory_cache_expires_and_evicts_least_recently_used() -> None:
    clock = ManualClock()
    cache = MemoryCache(max_entries=2, max_entry_bytes=10_000, clock=clock)
    await cache.set("a", result("a"), ttl_s=10)
    await cache.set("b", result("b"), ttl_s=10)
    assert await cache.get("a") is not None  # a is now the most recent
    await cache.set("c", result("c"), ttl_s=10)
    assert await cache.get("b") is None and len(cache) == 2
    clock.advance(11)
    assert await cache.get("a") is None
    await cache.set("big", result("x" * 20_000), ttl_s=10)
    assert await cache.get("big") is None, "entries over max_entry_bytes are not stored"


# --- through the gateway ----------------------------------------------------------------


async def test_identical_greedy_requests_hit_the_cache(gw: Harness) -> None:
    first = await unary(gw.stub().Complete, user("cache me", temperature=0.0))
    second = await unary(gw.stub().Complete, user("cache me", temperature=0.0))
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.message.content == first.message.content and second.id != first.id
    assert second.usage.cost_usd == 0 and second.usage.upstream_calls == 0
    assert gw.onprem.count() == 1
    other_tenant = await unary(gw.stub("globex-user").Complete, user("cache me", temperature=0.0))
    assert not other_tenant.cache_hit and gw.onprem.count() == 2


async def test_cache_hit_streams_too(gw: Harness) -> None:
    await unary(gw.stub().Complete, user("stream me", temperature=0.0))
    chunks = [c async for c in stream(gw.stub().StreamComplete, user("stream me", temperature=0.0))]
    assert chunks[0].cache_hit and "".join(c.delta for c in chunks) == "Echo: stream me"
    assert chunks[-1].finish_reason == gateway_pb2.FINISH_REASON_STOP
    assert gw.onprem.count() == 1


async def test_streamed_answers_are_cached(gw: Harness) -> None:
    chunks = [c async for c in stream(gw.stub().StreamComplete, user("from a stream", temperature=0.0))]
    assert not chunks[0].cache_hit
    again = await unary(gw.stub().Complete, user("from a stream", temperature=0.0))
    assert again.cache_hit and again.message.content == "Echo: from a stream"


async def test_sampling_is_not_cached_unless_allowed(gw: Harness) -> None:
    for _ in range(2):
        assert not (await unary(gw.stub().Complete, user("sample", temperature=0.8))).cache_hit
    assert gw.onprem.count() == 2
    allow = policy(allow_sampling=True)
    await unary(gw.stub().Complete, user("sample", temperature=0.8, cache=allow))
    assert (await unary(gw.stub().Complete, user("sample", temperature=0.8, cache=allow))).cache_hit
    assert gw.onprem.count() == 3


async def test_bypass_and_refresh(gw: Harness) -> None:
    await unary(gw.stub().Complete, user("q", temperature=0.0))
    bypass = await unary(gw.stub().Complete, user("q", temperature=0.0, cache=policy(Mode.MODE_BYPASS)))
    refresh = await unary(gw.stub().Complete, user("q", temperature=0.0, cache=policy(Mode.MODE_REFRESH)))
    assert not bypass.cache_hit and not refresh.cache_hit and gw.onprem.count() == 3
    hit = await unary(gw.stub().Complete, user("q", temperature=0.0))
    assert hit.cache_hit and hit.id != refresh.id and gw.onprem.count() == 3


async def test_errors_are_never_cached(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.error(500))
    with pytest.raises(UnavailableError):
        await unary(gw.stub().Complete, user("fails", temperature=0.0))
    gw.onprem.fail_always(None)
    gw.clock.advance(60)  # past the breaker's cool-down
    resp = await unary(gw.stub().Complete, user("fails", temperature=0.0))
    assert not resp.cache_hit and resp.message.content == "Echo: fails"


async def test_single_flight_makes_one_upstream_call_for_concurrent_identical_requests(gw: Harness) -> None:
    n = 12
    joined = asyncio.Event()
    flights = gw.server[CORE].flights
    assert flights is not None
    flights.on_join = lambda _key, followers: joined.set() if followers == n - 1 else None
    gw.onprem.hold()
    stub = gw.stub()
    calls = [asyncio.ensure_future(unary(stub.Complete, user("same question", temperature=0.0))) for _ in range(n)]
    await gw.onprem.wait_for_requests(1)
    await asyncio.wait_for(joined.wait(), 5)
    gw.onprem.release()
    answers = await asyncio.gather(*calls)
    assert gw.onprem.count() == 1
    assert {a.message.content for a in answers} == {"Echo: same question"}
    assert sum(not a.cache_hit for a in answers) == 1, "one leader paid, the followers shared its answer"
    assert len({a.id for a in answers}) == n
    usage = await unary(stub.GetUsage, gateway_pb2.GetUsageRequest())
    assert usage.daily.requests == n and usage.daily.cache_hits == n - 1


async def test_single_flight_shares_errors_and_survives_the_leader_leaving(gw: Harness) -> None:
    joined = asyncio.Event()
    flights = gw.server[CORE].flights
    assert flights is not None
    flights.on_join = lambda _key, _followers: joined.set()
    gw.onprem.hold()
    leader = asyncio.ensure_future(unary(gw.stub().Complete, user("shared", temperature=0.0), timeout_s=0.5))
    await gw.onprem.wait_for_requests(1)
    follower = asyncio.ensure_future(unary(gw.stub().Complete, user("shared", temperature=0.0)))
    await asyncio.wait_for(joined.wait(), 5)
    with pytest.raises(Exception):  # noqa: B017 - the leader's own deadline, whatever its type
        await leader
    gw.onprem.release()
    assert (await follower).message.content == "Echo: shared"
    assert gw.onprem.count() == 1


# --- Redis, shared by replicas ----------------------------------------------------------


async def test_redis_cache_round_trip_and_ttl(redis_prefix: str) -> None:
    cache = RedisCache(CacheSettings(backend="redis", redis_url=REDIS_URL), prefix=redis_prefix)
    try:
        await cache.set("k", result("from redis"), ttl_s=60)
        got = await cache.get("k")
        assert got is not None and got.completion.content == "from redis"
        assert await cache.get("missing") is None
        client = redis_asyncio.Redis.from_url(REDIS_URL)
        ttl = await client.ttl(redis_prefix + "k")
        await client.aclose()
        assert 0 < ttl <= 60
    finally:
        await cache.aclose()


async def test_redis_failure_reads_as_a_miss() -> None:
    cache = RedisCache(CacheSettings(backend="redis", redis_url="redis://127.0.0.1:1/0", redis_timeout_s=0.2))
    try:
        assert await cache.get("k") is None
        await cache.set("k", result(), ttl_s=5)  # must not raise
    finally:
        await cache.aclose()


async def test_two_replicas_share_the_redis_cache(tmp_path: Path, redis_prefix: str) -> None:
    shared = {"cache": {"backend": "redis", "key_prefix": redis_prefix, "redis_url": REDIS_URL}}
    async with running_gateway(tmp_path / "a", **shared) as one, running_gateway(tmp_path / "b", **shared) as two:
        # Both replicas point their "general" alias at different fakes; the second must not call its own.
        first = await unary(one.stub().Complete, user("replicated", temperature=0.0))
        second = await unary(two.stub().Complete, user("replicated", temperature=0.0))
        assert not first.cache_hit and second.cache_hit
        assert second.message.content == first.message.content
        assert one.onprem.count() == 1 and two.onprem.count() == 0

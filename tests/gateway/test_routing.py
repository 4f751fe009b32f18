"""Retries, circuit breakers, failover and fallbacks against real fake providers."""

from __future__ import annotations

import asyncio

import pytest

from agentplane.errors import DeadlineExceededError, InvalidArgumentError, ResourceExhaustedError, UnavailableError
from agentplane.rpc import unary
from agentplane.v1 import gateway_pb2
from tests.gateway.conftest import Harness, user
from tests.support.fake_llm import Fault

BYPASS = gateway_pb2.CachePolicy(mode=gateway_pb2.CachePolicy.MODE_BYPASS)


def fresh(text: str, model: str = "general", **fields: object) -> gateway_pb2.CompleteRequest:
    return user(text, model=model, cache=BYPASS, **fields)


async def breaker_state(gw: Harness, alias: str) -> dict[str, str]:
    resp = await unary(gw.stub().ListModels, gateway_pb2.ListLLMModelsRequest())
    model = next(m for m in resp.models if m.alias == alias)
    return {d.name: d.breaker_state for d in model.deployments}


async def test_retries_a_429_after_its_retry_after(gw: Harness) -> None:
    gw.onprem.script(Fault.error(429, retry_after=0.05))
    resp = await unary(gw.stub().Complete, fresh("hi"))
    assert resp.message.content == "Echo: hi"
    assert gw.onprem.count() == 2
    assert [(a.outcome, a.http_status) for a in resp.attempts] == [("error", 429), ("ok", 0)]
    assert resp.attempts[1].backoff_s >= 0.05, "Retry-After is honoured as the minimum wait"
    assert resp.attempts[1].reason.startswith("retry 1 after")
    assert resp.usage.upstream_calls == 2


@pytest.mark.parametrize("fault", [Fault.error(500), Fault.error(503), Fault.drop(), Fault.garbage()])
async def test_retries_server_errors_dropped_connections_and_garbage(gw: Harness, fault: Fault) -> None:
    gw.onprem.script(fault)
    resp = await unary(gw.stub().Complete, fresh("hi"))
    assert resp.message.content == "Echo: hi"
    assert [a.outcome for a in resp.attempts] == ["error", "ok"]


async def test_retries_after_the_deployment_timeout(gw: Harness) -> None:
    gw.onprem.script(Fault.slow(2.0, model="slowpoke-a-model"))
    resp = await unary(gw.stub().Complete, fresh("hi", model="slowpoke"))
    assert resp.message.content == "Echo: hi"
    assert resp.attempts[0].error.startswith("timeout")


async def test_gives_up_after_max_attempts_with_unavailable(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.error(500))
    with pytest.raises(UnavailableError) as err:
        await unary(gw.stub().Complete, fresh("hi"))
    assert err.value.reason == "UPSTREAM_UNAVAILABLE"
    assert "onprem-a" in err.value.message and "500" in err.value.message
    assert gw.onprem.count() == 3


async def test_upstream_rejection_is_not_retried(gw: Harness) -> None:
    gw.onprem.script(Fault.error(400))
    with pytest.raises(InvalidArgumentError) as err:
        await unary(gw.stub().Complete, fresh("hi"))
    assert err.value.reason == "UPSTREAM_REJECTED"
    assert gw.onprem.count() == 1
    assert (await breaker_state(gw, "general")) == {"onprem-a": "closed"}


async def test_rate_limited_everywhere_is_resource_exhausted_with_hint(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.error(429, retry_after=60))
    with pytest.raises(ResourceExhaustedError) as err:
        await unary(gw.stub().Complete, fresh("hi"))
    assert err.value.reason == "UPSTREAM_RATE_LIMITED"
    assert err.value.retry_after_s == pytest.approx(60, abs=1)
    assert gw.onprem.count() == 1, "a Retry-After beyond max_retry_after_s is not waited for"


async def test_failover_within_an_alias_is_immediate(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.error(500, model="pair-a-model"))
    # The weighted order is random: go on until pair-a was tried (and failed) three times.
    for i in range(100):
        resp = await unary(gw.stub().Complete, fresh(f"q{i}", model="pair"))
        assert resp.deployment == "pair-b"
        assert all(a.backoff_s == 0 for a in resp.attempts), "failover to another deployment does not back off"
        assert [a.outcome for a in resp.attempts] in (["ok"], ["error", "ok"], ["breaker_open", "ok"])
        if gw.onprem.count(model="pair-a-model") == 3:
            break
    assert (await breaker_state(gw, "pair")) == {"pair-a": "open", "pair-b": "closed"}
    for i in range(5):
        await unary(gw.stub().Complete, fresh(f"after {i}", model="pair"))
    assert gw.onprem.count(model="pair-a-model") == 3, "an open breaker is not paid for"


async def test_breaker_opens_on_a_single_deployment_alias_and_stops_paying(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.error(500))
    with pytest.raises(UnavailableError):
        await unary(gw.stub().Complete, fresh("first"))
    assert gw.onprem.count() == 3
    assert (await breaker_state(gw, "general")) == {"onprem-a": "open"}
    for i in range(5):
        with pytest.raises(UnavailableError) as err:
            await unary(gw.stub().Complete, fresh(f"again {i}"))
        assert err.value.reason == "CIRCUIT_OPEN"
        assert err.value.retry_after_s is not None and 0 < err.value.retry_after_s <= 30
    assert gw.onprem.count() == 3, "an open breaker costs no upstream call"


async def test_half_open_probe_closes_the_breaker_on_success(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.error(500))
    with pytest.raises(UnavailableError):
        await unary(gw.stub().Complete, fresh("down"))
    gw.onprem.fail_always(None)
    gw.clock.advance(31)
    assert (await breaker_state(gw, "general")) == {"onprem-a": "half_open"}
    resp = await unary(gw.stub().Complete, fresh("up again"))
    assert resp.attempts[-1].reason.startswith("half-open probe")
    assert (await breaker_state(gw, "general")) == {"onprem-a": "closed"}
    await unary(gw.stub().Complete, fresh("steady"))
    assert gw.onprem.count() == 5


async def test_failed_half_open_probe_reopens_at_once(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.error(500))
    with pytest.raises(UnavailableError):
        await unary(gw.stub().Complete, fresh("down"))
    gw.clock.advance(31)
    with pytest.raises(UnavailableError):
        await unary(gw.stub().Complete, fresh("probe"))
    assert gw.onprem.count() == 4, "one probe, not a full retry cycle"
    assert (await breaker_state(gw, "general")) == {"onprem-a": "open"}


async def test_falls_back_to_the_next_alias(gw: Harness) -> None:
    gw.cloud.fail_always(Fault.error(503))
    resp = await unary(gw.stub().Complete, fresh("hello", model="primary"))
    assert resp.message.content == "Echo: hello"
    assert (resp.model, resp.deployment) == ("backup", "backup-a")
    assert [(a.alias, a.outcome) for a in resp.attempts] == [
        ("primary", "error"),
        ("primary", "error"),
        ("primary", "error"),
        ("backup", "ok"),
    ]
    assert resp.attempts[-1].reason == "fallback from alias 'primary'"
    resp = await unary(gw.stub().Complete, fresh("again", model="primary"))
    assert [a.outcome for a in resp.attempts] == ["breaker_open", "ok"]
    assert gw.cloud.count() == 3


async def test_misconfigured_deployment_fails_over_without_retrying(gw: Harness) -> None:
    gw.cloud.fail_always(Fault.error(401))
    resp = await unary(gw.stub().Complete, fresh("hello", model="primary"))
    assert resp.deployment == "backup-a"
    assert gw.cloud.count() == 1


async def test_caller_deadline_bounds_the_whole_call(gw: Harness) -> None:
    gw.onprem.fail_always(Fault.hang())
    stub = gw.stub()
    with pytest.raises(DeadlineExceededError):
        await unary(stub.Complete, fresh("hi"), timeout_s=0.3)
    gw.onprem.fail_always(None)
    gw.onprem.release()
    assert (await breaker_state(gw, "general")) == {"onprem-a": "closed"}, (
        "our own deadline is not the upstream's fault"
    )


async def test_concurrent_requests_spread_over_both_deployments(gw: Harness) -> None:
    stub = gw.stub()
    await asyncio.gather(*(unary(stub.Complete, fresh(f"q{i}", model="pair")) for i in range(40)))
    assert gw.onprem.count(model="pair-a-model") > 0 and gw.onprem.count(model="pair-b-model") > 0
    assert gw.onprem.count() == 40

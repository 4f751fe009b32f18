"""The shared gRPC server: auth, tenant limits, size limits, error mapping, health, drain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentplane.errors import (
    InternalError,
    InvalidArgumentError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
)
from agentplane.rpc import unary
from tests.agentplane.probe_service import SERVICE
from tests.support.servers import channel


def _method(ch, name: str):
    return ch.channel.unary_unary(f"/{SERVICE}/{name}")


async def _echo(address: str, key: str | None = "acme-user", payload: bytes = b"", **kw) -> dict:
    async with channel(address, key, **kw) as ch:
        return json.loads(await unary(_method(ch, "Echo"), payload))


async def test_valid_key_maps_to_its_tenant(probe):
    address, _, _ = probe
    seen = await _echo(address, "globex-user")
    assert seen["tenant"] == "globex"
    assert seen["principal"] == "globex-user"


@pytest.mark.parametrize("key", [None, "nobody"])
async def test_missing_or_wrong_key_is_unauthenticated(probe, key):
    address, _, _ = probe
    with pytest.raises(UnauthenticatedError) as info:
        await _echo(address, key)
    assert info.value.reason in {"API_KEY_MISSING", "API_KEY_INVALID"}


async def test_only_service_keys_may_act_for_another_tenant(probe):
    address, _, _ = probe
    async with channel(address, "service") as ch:
        seen = json.loads(await unary(_method(ch, "Echo"), b"", timeout_s=5))
    assert seen["tenant"] == "internal"
    # The interceptor adds x-agentplane-tenant from the current context; emulate a controller.
    from agentplane import request_context
    from agentplane.request_context import Principal, RequestContext

    with request_context.use(RequestContext(principal=Principal("ctl", "acme"))):
        assert (await _echo(address, "service"))["tenant"] == "acme"
        with pytest.raises(PermissionDeniedError):
            await _echo(address, "globex-user")


@pytest.mark.parametrize(
    "probe", [{"limits": {"tenants": {"acme": {"rate_per_s": 0.001, "burst": 2, "max_concurrent": 10}}}}], indirect=True
)
async def test_tenant_over_rate_limit_is_refused_then_recovers(probe):
    address, _, server = probe
    clock = [1000.0]
    server.limiter._clock = lambda: clock[0]  # drive the token bucket without sleeping
    server.limiter._tenants.clear()
    await _echo(address)
    await _echo(address)
    with pytest.raises(ResourceExhaustedError) as info:
        await _echo(address)
    assert info.value.reason == "RATE_LIMITED"
    assert info.value.retry_after_s and info.value.retry_after_s > 0
    assert (await _echo(address, "globex-user"))["tenant"] == "globex"  # other tenants unaffected
    clock[0] += info.value.retry_after_s
    assert (await _echo(address))["tenant"] == "acme"


@pytest.mark.parametrize("probe", [{"limits": {"default": {"max_concurrent": 2}}}], indirect=True)
async def test_concurrency_limit_sheds_at_once_instead_of_queueing(probe):
    address, handlers, _ = probe
    async with channel(address) as ch:
        block = _method(ch, "Block")
        held = [asyncio.create_task(unary(block, b"{}", timeout_s=30)) for _ in range(2)]
        while handlers.blocked < 2:
            await asyncio.wait_for(handlers.started.wait(), 5)
            handlers.started.clear()
        with pytest.raises(ResourceExhaustedError) as info:
            await unary(block, b"{}", timeout_s=30)
        assert info.value.reason == "CONCURRENCY_LIMITED"
        handlers.release.set()
        assert [json.loads(r) for r in await asyncio.gather(*held)] == [{"done": True}] * 2
        assert json.loads(await unary(_method(ch, "Echo"), b""))["tenant"] == "acme"


BURST = 6000  # twice gRPC core's default hard backlog limit (3,000 calls not yet matched to a handler)


UNLIMITED = {"max_concurrent": 2 * BURST, "rate_per_s": 1e6, "burst": 2 * BURST}


@pytest.mark.parametrize(
    "probe", [{"server": {"max_concurrent_rpcs": 2 * BURST}, "limits": {"default": UNLIMITED}}], indirect=True
)
async def test_a_burst_of_held_calls_reaches_the_handlers_none_is_cancelled(probe):
    """Thousands of calls opened at once all run: none is dropped by gRPC core's pending-call backlog."""
    address, handlers, _ = probe
    async with channel(address) as ch:
        block = _method(ch, "Block")

        async def call() -> str:
            try:
                await unary(block, b"{}", timeout_s=120)
                return "OK"
            except Exception as exc:
                return type(exc).__name__

        held = [asyncio.create_task(call()) for _ in range(BURST)]
        while handlers.blocked < BURST and not any(t.done() for t in held):
            handlers.started.clear()
            await asyncio.wait_for(handlers.started.wait(), 60)
        handlers.release.set()
        outcomes = await asyncio.gather(*held)
    assert {o: outcomes.count(o) for o in set(outcomes)} == {"OK": BURST}
    assert handlers.blocked == BURST


@pytest.mark.parametrize("probe", [{"server": {"max_receive_message_bytes": 1024}}], indirect=True)
async def test_oversized_request_fails_cleanly_and_server_keeps_serving(probe):
    address, _, _ = probe
    with pytest.raises(ResourceExhaustedError) as info:
        await _echo(address, payload=b"x" * 4096)
    assert "4" in info.value.message  # grpc names the sizes
    assert (await _echo(address, payload=b"x" * 100))["size"] == 100


async def test_typed_errors_cross_the_wire_with_rich_details(probe):
    address, _, _ = probe
    async with channel(address) as ch:
        with pytest.raises(InvalidArgumentError) as info:
            await unary(_method(ch, "Fail"), b'{"error": "InvalidArgumentError"}')
        err = info.value
        assert (err.message, err.reason, err.retry_after_s) == ("probe failure", "PROBE", 1.5)
        assert err.violations[0].field == "texts[3]"
        with pytest.raises(ResourceExhaustedError) as info:
            await unary(_method(ch, "Fail"), b'{"error": "ResourceExhaustedError"}')
        assert info.value.metadata["subject"] == "probe"


async def test_unexpected_exception_becomes_internal_with_request_id(probe):
    address, _, _ = probe
    async with channel(address) as ch:
        with pytest.raises(InternalError) as info:
            await unary(_method(ch, "Fail"), b'{"error": "bug"}')
        assert "request id" in info.value.message
        assert json.loads(await unary(_method(ch, "Echo"), b""))["tenant"] == "acme"


async def test_health_reports_each_service_and_needs_no_key(probe):
    address, _, server = probe
    async with grpc.aio.insecure_channel(address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        serving = health_pb2.HealthCheckResponse.SERVING
        assert (await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE))).status == serving
        await server.set_serving(SERVICE, False)
        resp = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE))
        assert resp.status == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_sigterm_drains_an_in_flight_call(tmp_path: Path):
    from tests.support.keys import auth_overrides

    env = {
        **os.environ,
        "AGENTPLANE_AUTH": json.dumps(auth_overrides()["auth"]),
        "AGENTPLANE_DATA_DIR": str(tmp_path),
        "AGENTPLANE_PROBE__SERVER__GRACE_PERIOD_S": "20",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.agentplane.probe_service",
        stdout=asyncio.subprocess.PIPE, env=env, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        address = f"127.0.0.1:{int(line.split()[1])}"
        async with channel(address) as ch:
            call = asyncio.create_task(unary(_method(ch, "Block"), b'{"ms": 1500}', timeout_s=30))
            assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"BLOCK STARTED"
            proc.send_signal(signal.SIGTERM)
            assert json.loads(await call) == {"done": True}
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

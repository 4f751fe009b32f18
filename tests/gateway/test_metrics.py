"""The gateway's /metrics after a known sequence of calls: exact counter changes, refusals and errors included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from agentplane.errors import NotFoundError, ResourceExhaustedError, UnauthenticatedError
from agentplane.metrics import Snapshot, Window, scrape
from agentplane.rpc import ServiceHost, stream, unary
from agentplane.v1 import gateway_pb2_grpc
from gateway.server import HTTP_FRONT, build_server
from tests.gateway.conftest import gateway_settings, user
from tests.support.fake_llm import FakeLLM, Fault
from tests.support.keys import raw_key
from tests.support.servers import channel

GREEDY = {"temperature": 0.0}
COMPLETE = {"grpc_service": "agentplane.v1.LLMGateway", "grpc_method": "Complete"}


@dataclass
class Metered:
    host: ServiceHost
    onprem: FakeLLM
    cloud: FakeLLM
    http: aiohttp.ClientSession

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.host.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host[HTTP_FRONT].address}"

    async def scrape(self) -> Snapshot:
        assert self.host.metrics_endpoint is not None
        return await scrape(self.http, self.host.metrics_endpoint.url)


@pytest.fixture
async def metered(tmp_path: Path) -> AsyncIterator[Metered]:
    """A gateway with its metrics endpoint; tenant globex may make one call (then it is rate limited)."""
    async with FakeLLM() as onprem, FakeLLM() as cloud, aiohttp.ClientSession() as http:
        settings = gateway_settings(
            tmp_path,
            onprem,
            cloud,
            limits={"tenants": {"globex": {"rate_per_s": 0.001, "burst": 1}}},
            budgets={"tenants": {"acme": {"daily_usd": 100.0}}},
        )
        host = build_server(settings)
        await host.start()
        try:
            yield Metered(host, onprem, cloud, http)
        finally:
            await host.stop(grace_s=1.0)


async def test_counters_change_exactly_by_the_calls_made(metered: Metered) -> None:
    before = await metered.scrape()
    async with channel(metered.address) as acme, channel(metered.address, "globex-user") as globex:
        stub = gateway_pb2_grpc.LLMGatewayStub(acme.channel)
        first = await unary(stub.Complete, user("cache me", **GREEDY))  # miss, then stored
        hit = await unary(stub.Complete, user("cache me", **GREEDY))  # served from the cache
        metered.onprem.script(Fault.error(500))
        retried = await unary(stub.Complete, user("retry me"))  # 500, then a retry round answers
        metered.cloud.fail_always(Fault.error(500))
        fell_back = await unary(stub.Complete, user("fall back", model="primary"))  # primary fails 3 times
        metered.cloud.fail_always(None)
        chunks = [c async for c in stream(stub.StreamComplete, user("stream me"))]
        with pytest.raises(NotFoundError):
            await unary(stub.Complete, user("hi", model="no-such-model"))
        globex_stub = gateway_pb2_grpc.LLMGatewayStub(globex.channel)
        await unary(globex_stub.Complete, user("one"))
        with pytest.raises(ResourceExhaustedError):
            await unary(globex_stub.Complete, user("two"))
    async with channel(metered.address, None) as anonymous:
        with pytest.raises(UnauthenticatedError):
            await unary(gateway_pb2_grpc.LLMGatewayStub(anonymous.channel).Complete, user("who"))
    auth = {"Authorization": f"Bearer {raw_key('acme-user')}"}
    body = {"model": "general", "messages": [{"role": "user", "content": "over http"}]}
    async with metered.http.post(f"{metered.http_url}/v1/chat/completions", json=body, headers=auth) as resp:
        assert resp.status == 200
        over_http = (await resp.json())["usage"]
    async with metered.http.post(f"{metered.http_url}/v1/chat/completions", data=b"{", headers=auth) as resp:
        assert resp.status == 400
    async with metered.http.get(f"{metered.http_url}/no/such/path", headers=auth) as resp:
        assert resp.status == 404
    window = Window(before, await metered.scrape())

    # RED per gRPC method, by status code (refusals and errors included).
    assert window.increase_by("agentplane_grpc_server_handled_total", "grpc_code", **COMPLETE) == {
        "OK": 5.0,
        "NOT_FOUND": 1.0,
        "RESOURCE_EXHAUSTED": 1.0,
        "UNAUTHENTICATED": 1.0,
    }
    assert window.increase("agentplane_grpc_server_handling_seconds_count", **COMPLETE) == 8
    assert window.after.value("agentplane_grpc_server_in_flight", **COMPLETE) == 0
    stream_calls = {"grpc_service": "agentplane.v1.LLMGateway", "grpc_method": "StreamComplete", "grpc_code": "OK"}
    assert window.increase("agentplane_grpc_server_handled_total", **stream_calls) == 1
    # Refusals by reason, and the tenant's own limit by tenant.
    assert window.increase_by("agentplane_admission_refusals_total", "reason") == {
        "RATE_LIMITED": 1.0,
        "API_KEY_MISSING": 1.0,
    }
    assert window.increase_by("agentplane_tenant_limit_refusals_total", "tenant") == {"globex": 1.0}
    # RED per HTTP route; every unknown path is one series.
    assert window.increase_by("agentplane_http_server_requests_total", "status", route="POST /v1/chat/completions") == {
        "200": 1.0,
        "400": 1.0,
    }
    assert window.increase("agentplane_http_server_requests_total", route="unmatched", status="404") == 1
    # Upstream attempts by deployment and outcome, retries and fallbacks.
    assert window.increase_by("agentplane_gateway_upstream_calls_total", "outcome", deployment="onprem-a") == {
        "ok": 5.0,  # the cache miss, the retry, the stream, globex's call, the HTTP one (not the hit)
        "server_error": 1.0,
    }
    assert window.increase_by("agentplane_gateway_upstream_calls_total", "outcome", deployment="primary-a") == {
        "server_error": 3.0
    }
    assert window.increase("agentplane_gateway_upstream_calls_total", deployment="backup-a", outcome="ok") == 1
    assert window.increase_by("agentplane_gateway_retries_total", "model") == {"general": 1.0, "primary": 2.0}
    assert window.increase_by("agentplane_gateway_fallbacks_total", "model") == {"primary": 1.0}
    assert window.after.samples("agentplane_breaker_state", breaker="primary-a", state="open")[0].value == 1.0
    # Cache and tokens: the hit is counted, costs no tokens; tokens match what the answers reported.
    assert window.increase_by("agentplane_gateway_cache_lookups_total", "result") == {"hit": 1.0, "miss": 1.0}
    assert hit.cache_hit and not first.cache_hit
    general = [first.usage, retried.usage, chunks[-1].usage]
    tokens = window.increase_by("agentplane_gateway_tokens_total", "direction", tenant="acme", model="general")
    assert tokens == {
        "input": sum(u.input_tokens for u in general) + over_http["prompt_tokens"],
        "output": sum(u.output_tokens for u in general) + over_http["completion_tokens"],
    }
    assert fell_back.model == "backup"
    assert window.increase_by("agentplane_gateway_tokens_total", "direction", tenant="acme", model="backup") == {
        "input": fell_back.usage.input_tokens,
        "output": fell_back.usage.output_tokens,
    }
    assert window.increase("agentplane_gateway_time_to_first_token_seconds_count", model="general") == 1
    # The budget of acme is exported (scraped from the ledger).
    assert window.after.value("agentplane_gateway_budget_remaining_ratio", tenant="acme", window="daily") == 1.0

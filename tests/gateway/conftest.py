"""Gateway test harness: two fake providers (on-prem and cloud) behind a real gateway on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
import redis.asyncio as redis_asyncio

from agentplane.rpc import ServiceChannel, ServiceHost
from agentplane.v1 import gateway_pb2, gateway_pb2_grpc
from gateway.config import GatewaySettings
from gateway.server import HTTP_FRONT, build_core, build_server
from tests.support.fake_llm import FakeLLM
from tests.support.keys import raw_key
from tests.support.servers import channel
from tests.support.settings import test_settings

SYSTEM = "You are a test assistant."
REDIS_URL = "redis://127.0.0.1:6379/0"


def catalogue(onprem: FakeLLM, cloud: FakeLLM) -> dict[str, Any]:
    """The test catalogue: every routing shape the tests need."""

    def dep(name: str, fake: FakeLLM, residency: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "provider": "openai",
            "model": f"{name}-model",
            "base_url": fake.base_url,
            "residency": residency,
            "timeout_s": 5.0,
            **extra,
        }

    return {
        "general": {"deployments": [dep("onprem-a", onprem, "on_prem")], "system_prompt": SYSTEM},
        "mixed": {
            "deployments": [
                dep("cloud-a", cloud, "cloud", input_price_per_1k=1.0, output_price_per_1k=2.0),
                dep("onprem-b", onprem, "on_prem"),
            ]
        },
        "pair": {
            "deployments": [dep("pair-a", onprem, "on_prem", weight=1.0), dep("pair-b", onprem, "on_prem", weight=1.0)]
        },
        "plain": {"deployments": [dep("plain-a", onprem, "on_prem", supports_tools=False)]},
        "slowpoke": {"deployments": [dep("slowpoke-a", onprem, "on_prem", timeout_s=0.3)]},
        "cloud-only": {
            "deployments": [dep("cloud-only-a", cloud, "cloud", input_price_per_1k=1.0, output_price_per_1k=2.0)]
        },
        "claude": {
            "deployments": [
                {
                    "name": "claude-a",
                    "provider": "anthropic",
                    "model": "claude-test",
                    "base_url": cloud.base_url,
                    "api_key": "sk-ant-test",
                    "residency": "cloud",
                    "input_price_per_1k": 3.0,
                    "output_price_per_1k": 15.0,
                }
            ]
        },
        "azure": {
            "deployments": [
                {
                    "name": "azure-a",
                    "provider": "azure_openai",
                    "model": "gpt4o-prod",
                    "base_url": cloud.root_url,
                    "api_key": "az-key",
                    "api_version": "2024-10-21",
                }
            ]
        },
        "primary": {"deployments": [dep("primary-a", cloud, "cloud")], "fallbacks": ["backup"]},
        "backup": {"deployments": [dep("backup-a", onprem, "on_prem")]},
        "embed": {"deployments": [dep("embed-a", onprem, "on_prem")], "embeddings": True},
    }


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of settings overrides."""
    out = dict(base)
    for key, value in top.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def gateway_settings(data_dir: Path, onprem: FakeLLM, cloud: FakeLLM, **overrides: Any) -> GatewaySettings:
    """Test settings: fast retries, memory usage store, HTTP front on a free port."""
    base: dict[str, Any] = {
        "models": catalogue(onprem, cloud),
        "http": {"port": 0},
        "usage": {"backend": "memory"},
        "retry": {"base_delay_s": 0.001, "max_delay_s": 0.005, "max_retry_after_s": 2.0, "budget_min_per_s": 1000},
        "breaker": {"failure_threshold": 3, "cool_down_s": 30.0},
    }
    return test_settings(GatewaySettings, "gateway", data_dir, **merge(base, overrides))


@dataclass
class ManualClock:
    """A monotonic clock that moves only when told."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """A running gateway with its fakes."""

    onprem: FakeLLM
    cloud: FakeLLM
    server: ServiceHost
    address: str
    clock: ManualClock
    channels: list[ServiceChannel] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        """Root of the HTTP front."""
        return f"http://{self.server[HTTP_FRONT].address}"

    def stub(self, key: str | None = "acme-user") -> gateway_pb2_grpc.LLMGatewayStub:
        """A stub over a new channel sending test key `key`."""
        ch = channel(self.address, key)
        self.channels.append(ch)
        return gateway_pb2_grpc.LLMGatewayStub(ch.channel)

    def headers(self, key: str = "acme-user") -> dict[str, str]:
        """HTTP headers authenticating as test key `key`."""
        return {"Authorization": f"Bearer {raw_key(key)}"}


@asynccontextmanager
async def running_gateway(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    """Start two fakes and a gateway over them; stop everything after."""
    async with FakeLLM() as onprem, FakeLLM() as cloud:
        settings = gateway_settings(tmp_path, onprem, cloud, **overrides)
        clock = ManualClock()
        server = build_server(settings, build_core(settings, env={}, clock=clock))
        port = await server.start()
        harness = Harness(onprem, cloud, server, f"127.0.0.1:{port}", clock)
        try:
            yield harness
        finally:
            for ch in harness.channels:
                await ch.aclose()
            await server.stop(grace_s=1.0)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Harness]:
    """A gateway with default test settings."""
    async with running_gateway(tmp_path) as harness:
        yield harness


@pytest.fixture
async def sdk(gw: Harness) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official openai SDK against the gateway's HTTP front, as acme-user, without retries."""
    client = openai.AsyncOpenAI(base_url=f"{gw.http_url}/v1", api_key=raw_key("acme-user"), max_retries=0)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Callable[..., Any]:
    """Start a gateway with settings overrides: `async with gateway_factory(cache={...}) as gw:`."""

    def make(**overrides: Any) -> Any:
        return running_gateway(tmp_path, **overrides)

    return make


def user(text: str, *, model: str = "general", **fields: Any) -> gateway_pb2.CompleteRequest:
    """A one-message CompleteRequest."""
    return gateway_pb2.CompleteRequest(
        model=model, messages=[gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_USER, content=text)], **fields
    )


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A unique key prefix on the local Redis (skips when Redis is down); its keys are deleted after."""
    client = redis_asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"agentplane-test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

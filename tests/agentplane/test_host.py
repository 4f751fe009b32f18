"""The service host: resources start in order, close in reverse, failures roll back and are collected."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from agentplane.errors import UnavailableError
from agentplane.rpc import HostCloseError, ResourceKey, ServiceHost, closing, lifecycle, unary
from agentplane.settings import ServiceSettings
from tests.agentplane.probe_service import SERVICE, Probe
from tests.support.fake_llm import FakeLLM
from tests.support.servers import channel
from tests.support.settings import test_settings


class Recorded:
    """A resource that logs its start and close (and fails on request)."""

    def __init__(self, name: str, log: list[str], *, fail_start: bool = False, fail_close: bool = False) -> None:
        self.name, self.log = name, log
        self.fail_start, self.fail_close = fail_start, fail_close

    async def start(self) -> None:
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    async def aclose(self) -> None:
        self.log.append(f"close {self.name}")
        if self.fail_close:
            raise OSError(f"{self.name} cannot close")


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    return test_settings(ServiceSettings, "probe", tmp_path)


async def test_resources_start_in_order_and_close_in_reverse(settings: ServiceSettings) -> None:
    log: list[str] = []
    host = ServiceHost(settings, "test")
    for name in ("store", "channels", "runner"):
        host.add(name, lifecycle(Recorded(name, log)))
    async with host:
        assert log == ["start store", "start channels", "start runner"]
    assert log[3:] == ["close runner", "close channels", "close store"]
    await host.stop()  # idempotent: nothing is closed twice
    assert len(log) == 6


async def test_a_service_whose_third_resource_fails_closes_the_first_two(settings: ServiceSettings) -> None:
    """A real provider server and a real gRPC server start; the third part fails: both are closed again."""
    log: list[str] = []
    llm = FakeLLM()
    host = ServiceHost(settings, "test")
    host.add("llm", lifecycle(llm))
    host.serve([Probe().binding()])
    host.add("broken", lifecycle(Recorded("broken", log, fail_start=True)))
    host.add("never", lifecycle(Recorded("never", log)))
    with pytest.raises(RuntimeError, match="broken cannot start"):
        await host.start()
    assert log == [], "neither the failed resource nor the ones after it are started or closed"
    assert llm._runner is None, "the provider server was closed"
    async with channel(f"127.0.0.1:{host.port}") as ch:
        with pytest.raises(UnavailableError):
            await unary(ch.channel.unary_unary(f"/{SERVICE}/Echo"), b"", timeout_s=5)


async def test_close_errors_are_collected_and_every_resource_is_still_closed(settings: ServiceSettings) -> None:
    log: list[str] = []
    host = ServiceHost(settings, "test")
    host.add("a", lifecycle(Recorded("a", log, fail_close=True)))
    host.add("b", lifecycle(Recorded("b", log)))
    host.add("c", lifecycle(Recorded("c", log, fail_close=True)))
    await host.start()
    with pytest.raises(HostCloseError) as info:
        await host.stop()
    assert log[3:] == ["close c", "close b", "close a"]
    assert [str(e) for e in info.value.exceptions] == ["c cannot close", "a cannot close"]


async def test_one_close_error_is_raised_as_it_is(settings: ServiceSettings) -> None:
    host = ServiceHost(settings, "test")
    host.add("a", lifecycle(Recorded("a", [], fail_close=True)))
    await host.start()
    with pytest.raises(OSError, match="a cannot close") as info:
        await host.stop()
    assert "while closing a of test" in (info.value.__notes__ or [])


async def test_rollback_errors_are_noted_on_the_start_failure(settings: ServiceSettings) -> None:
    host = ServiceHost(settings, "test")
    host.add("a", lifecycle(Recorded("a", [], fail_close=True)))
    host.add("b", lifecycle(Recorded("b", [], fail_start=True)))
    with pytest.raises(RuntimeError, match="b cannot start") as info:
        await host.start()
    assert any("a cannot close" in note for note in info.value.__notes__)


async def test_cleanup_contexts_and_typed_state(settings: ServiceSettings) -> None:
    log: list[str] = []
    counter = ResourceKey("counter", int)

    async def ctx() -> AsyncIterator[None]:
        log.append("enter")
        yield
        log.append("exit")

    host = ServiceHost(settings, "test")
    host[counter] = 3
    host.add("ctx", ctx)
    host.add("closing", closing(Recorded("x", log), Recorded("y", log)))
    async with host:
        assert host[counter] + 1 == 4
    assert log == ["enter", "close y", "close x", "exit"]
    with pytest.raises(KeyError, match="test has no missing"):
        host[ResourceKey("missing", str)]
    with pytest.raises(RuntimeError, match="added after start"):
        host.add("late", ctx)


async def test_the_grpc_server_serves_while_started_and_drains_on_stop(settings: ServiceSettings) -> None:
    host = ServiceHost(settings, "test")
    host.serve([Probe().binding()])
    port = await host.start()
    assert port == host.port == host.grpc.port > 0
    async with channel(f"127.0.0.1:{port}") as ch:
        seen = json.loads(await unary(ch.channel.unary_unary(f"/{SERVICE}/Echo"), b""))
        assert seen["tenant"] == "acme"
    await host.stop(grace_s=1.0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as raw:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw.unary_unary(f"/{SERVICE}/Echo")(b"", timeout=5)
        assert info.value.code() is grpc.StatusCode.UNAVAILABLE

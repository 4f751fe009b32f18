"""Fixtures of the realtime tests: the local test site, fake resolver and clock, settings, servers.

Nothing here connects anywhere but 127.0.0.1: names used in tests (site-a.test,
internal.test, ...) are answered by `FakeResolver`, which sits *under* the SSRF
guard exactly where DNS would, and every socket about to connect is recorded by
the connect observer.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from realtime.config import RealtimeSettings
from realtime.runtime import RealtimeRuntime, RuntimeHooks
from tests.realtime.site import TestSite
from tests.support.settings import test_settings


class FakeResolver(AbstractResolver):
    """Maps names to fixed addresses (no DNS traffic); counts lookups."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = dict(table or {})
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"fake resolver: unknown host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=addr,
                port=port,
                family=socket.AF_INET6 if ":" in addr else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for addr in self.table[host]
        ]

    async def close(self) -> None:
        return None


class FakeClock:
    """Virtual time: sleep() advances it at once; wait() blocks until advance() passes the timeout."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 1000.0
        self.sleeps: list[float] = []
        self._moved = asyncio.Event()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds
        self._moved.set()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.advance(seconds)
        await asyncio.sleep(0)

    async def wait(self, event: asyncio.Event, timeout_s: float) -> bool:
        until = self._mono + max(0.0, timeout_s)
        while not event.is_set() and self._mono < until:
            self._moved.clear()
            waiter = asyncio.ensure_future(event.wait())
            moved = asyncio.ensure_future(self._moved.wait())
            try:
                await asyncio.wait({waiter, moved}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                moved.cancel()
        return event.is_set()


class ConnectLog:
    """Every (address, port) a socket was about to connect to.

    Also the tests' safety net: a connection to anything but 127.0.0.1 is refused
    here even if the guard under test were broken, so no test can reach another host.
    """

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []

    def __call__(self, address: str, port: int) -> None:
        self.attempts.append((address, port))
        if address != "127.0.0.1":
            raise OSError(f"test safety net: refusing to connect to {address}:{port}")


@pytest.fixture
async def site() -> AsyncIterator[TestSite]:
    s = TestSite()
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver({"site-a.test": ["127.0.0.1"], "site-b.test": ["127.0.0.1"]})


@pytest.fixture
def connects() -> ConnectLog:
    return ConnectLog()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def realtime_settings(tmp_path: Path, site: TestSite | None = None, **overrides: Any) -> RealtimeSettings:
    """Test settings: the site's exact port allowed through the SSRF guard, no politeness delay."""
    base: dict[str, Any] = {
        "politeness": {"default": {"max_concurrent": 2, "min_delay_s": 0.0}},
        "fetch": {"timeout_s": 10.0, "retry": {"base_delay_s": 0.01, "max_delay_s": 0.05}},
        "watch": {"enabled": False, "jitter": 0.0},
    }
    if site is not None:
        base["ssrf"] = {"allow": [f"127.0.0.1:{site.port}"]}
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return test_settings(RealtimeSettings, "realtime", tmp_path, **base)


@pytest.fixture
async def runtime_factory(
    tmp_path: Path, site: TestSite, resolver: FakeResolver, connects: ConnectLog, clock: FakeClock
) -> AsyncIterator[Any]:
    """Builds started runtimes (closed at teardown): factory(**settings_overrides)."""
    made: list[RealtimeRuntime] = []

    async def make(*, fake_clock: bool = True, **overrides: Any) -> RealtimeRuntime:
        settings = realtime_settings(tmp_path, site, **overrides)
        hooks = RuntimeHooks(clock=clock if fake_clock else None, base_resolver=resolver, connect_observer=connects)
        rt = RealtimeRuntime(settings, hooks)
        await rt.start()
        made.append(rt)
        return rt

    try:
        yield make
    finally:
        for rt in reversed(made):
            await rt.aclose()

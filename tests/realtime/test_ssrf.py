"""The SSRF guard refuses forbidden targets before any connection is made.

The guard runs WITHOUT the allow-list here. Host names are answered by a fake
resolver that maps them to private addresses; names that map to loopback point
at a real TCP listener on 127.0.0.1 that records every accept, and the
connect observer records every socket about to connect: both must stay empty.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentplane.errors import InvalidArgumentError, PermissionDeniedError
from realtime.runtime import RealtimeRuntime, RuntimeHooks
from realtime.ssrf import AddressPolicy, parse_allow_rule
from tests.realtime.conftest import ConnectLog, FakeResolver, realtime_settings
from tests.realtime.site import TestSite


class AcceptRecorder:
    """A TCP listener on 127.0.0.1 that counts accepted connections."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self._server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def listener() -> AsyncIterator[AcceptRecorder]:
    rec = AcceptRecorder()
    await rec.start()
    try:
        yield rec
    finally:
        await rec.stop()


PRIVATE_NAMES = {
    "loopback.test": ["127.0.0.1"],
    "loopback-other.test": ["127.8.9.10"],
    "internal.test": ["10.0.0.5"],
    "office.test": ["192.168.1.20"],
    "docker.test": ["172.17.0.1"],
    "metadata.test": ["169.254.169.254"],
    "cgnat.test": ["100.64.12.1"],
    "alibaba-meta.test": ["100.100.100.200"],
    "zero.test": ["0.0.0.0"],
    "v6-loopback.test": ["::1"],
    "v6-ula.test": ["fd12:3456::1"],
    "aws-v6-meta.test": ["fd00:ec2::254"],
    "v6-linklocal.test": ["fe80::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
    "multicast.test": ["224.0.0.251"],
    "mixed-private.test": ["10.1.1.1", "192.168.0.9"],
}


def forbidden_targets(port: int) -> list[tuple[str, str]]:
    """(url, expected reason) for at least 20 targets the guard must refuse."""
    names = [(f"http://{name}:{port}/", "SSRF_BLOCKED") for name in PRIVATE_NAMES]
    literals = [
        (f"http://127.0.0.1:{port}/", "SSRF_BLOCKED"),
        (f"http://2130706433:{port}/", "SSRF_BLOCKED"),  # decimal 127.0.0.1
        (f"http://0177.0.0.1:{port}/", "SSRF_BLOCKED"),  # octal
        (f"http://0x7f.1:{port}/", "SSRF_BLOCKED"),  # hex, short form
        (f"http://127.1:{port}/", "SSRF_BLOCKED"),  # short form
        (f"http://0x7f000001:{port}/", "SSRF_BLOCKED"),
        (f"http://[::1]:{port}/", "SSRF_BLOCKED"),
        (f"http://[::ffff:127.0.0.1]:{port}/", "SSRF_BLOCKED"),
        (f"http://[::ffff:7f00:1]:{port}/", "SSRF_BLOCKED"),
        ("http://169.254.169.254/latest/meta-data/", "SSRF_BLOCKED"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "SSRF_BLOCKED"),
        ("http://100.100.100.200/", "SSRF_BLOCKED"),
        ("http://10.0.0.1/", "SSRF_BLOCKED"),
        ("http://172.31.255.255/", "SSRF_BLOCKED"),
        ("http://192.168.0.1/", "SSRF_BLOCKED"),
        ("http://0.0.0.0/", "SSRF_BLOCKED"),
        ("http://[::]/", "SSRF_BLOCKED"),
        ("http://224.0.0.1/", "SSRF_BLOCKED"),
        ("http://255.255.255.255/", "SSRF_BLOCKED"),
        ("http://198.18.0.1/", "SSRF_BLOCKED"),
        ("http://[fe80::1]/", "SSRF_BLOCKED"),
        ("http://[ff02::1]/", "SSRF_BLOCKED"),
        ("http://[2002:7f00:1::]/", "SSRF_BLOCKED"),  # 6to4 of 127.0.0.1
        ("http://[64:ff9b::a9fe:a9fe]/", "SSRF_BLOCKED"),  # NAT64 of 169.254.169.254
        ("http://[::127.0.0.1]/", "SSRF_BLOCKED"),  # IPv4-compatible
        (f"http://localhost:{port}/", "SSRF_BLOCKED"),
        (f"http://LOCALHOST.:{port}/", "SSRF_BLOCKED"),
        ("http://api.localhost/", "SSRF_BLOCKED"),
        ("http://metadata.google.internal/computeMetadata/v1/", "SSRF_BLOCKED"),
        ("http://127。0。0。1/", "SSRF_BLOCKED"),  # ideographic full stops
        ("file:///etc/passwd", "UNSUPPORTED_SCHEME"),
        ("gopher://127.0.0.1:70/", "UNSUPPORTED_SCHEME"),
        ("ftp://example.com/", "UNSUPPORTED_SCHEME"),
        ("http://user:pass@example.com/", "URL_CREDENTIALS"),
        ("http://1.2.3.4.5/", "BAD_HOST"),
        ("http://0x100.0.0.1/", "BAD_HOST"),
    ]
    return names + literals


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[tuple[RealtimeRuntime, FakeResolver, ConnectLog]]:
    resolver = FakeResolver(PRIVATE_NAMES)
    connects = ConnectLog()
    settings = realtime_settings(tmp_path, robots={"obey": False})
    rt = RealtimeRuntime(settings, RuntimeHooks(base_resolver=resolver, connect_observer=connects))
    await rt.start()
    try:
        yield rt, resolver, connects
    finally:
        await rt.aclose()


async def test_forbidden_targets_are_refused_before_any_connection(guarded, listener: AcceptRecorder) -> None:
    rt, resolver, connects = guarded
    table = forbidden_targets(listener.port)
    assert len(table) >= 20
    for url, reason in table:
        expected = PermissionDeniedError if reason == "SSRF_BLOCKED" else InvalidArgumentError
        with pytest.raises(expected) as caught:
            await rt.retriever.retrieve(url, bypass_cache=True)
        assert caught.value.reason == reason, url
        if reason == "SSRF_BLOCKED":
            assert caught.value.message.startswith("refused to fetch"), url
    assert connects.attempts == []
    assert listener.accepted == 0
    # Names were resolved (through the fake resolver, under the guard) and refused there.
    assert set(PRIVATE_NAMES) <= set(resolver.lookups)


async def test_literal_and_numeric_hosts_never_reach_the_resolver(guarded) -> None:
    rt, resolver, connects = guarded
    for url in ("http://2130706433/", "http://0177.0.0.1/", "http://[::1]/", "http://localhost/"):
        with pytest.raises(PermissionDeniedError):
            await rt.retriever.retrieve(url)
    assert resolver.lookups == []
    assert connects.attempts == []


async def test_refusal_message_is_actionable(guarded) -> None:
    rt, _, _ = guarded
    with pytest.raises(PermissionDeniedError) as caught:
        await rt.retriever.retrieve("http://metadata.test/latest/")
    err = caught.value
    assert "169.254.169.254" in err.message and "metadata" in err.message
    assert err.metadata["url"].startswith("http://metadata.test")


async def test_redirect_to_a_forbidden_address_is_checked_again(
    tmp_path: Path, site: TestSite, listener: AcceptRecorder
) -> None:
    connects = ConnectLog()
    # Only the test site's own port is allowed: the listener's port on the same address is not.
    settings = realtime_settings(tmp_path, site)
    rt = RealtimeRuntime(settings, RuntimeHooks(connect_observer=connects))
    await rt.start()
    try:
        for target in (
            f"http://127.0.0.1:{listener.port}/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://2130706433/",
        ):
            with pytest.raises(PermissionDeniedError) as caught:
                await rt.retriever.retrieve(site.url(f"/redirect?to={target}"), bypass_cache=True)
            assert caught.value.reason == "SSRF_BLOCKED"
    finally:
        await rt.aclose()
    assert listener.accepted == 0
    assert {port for _, port in connects.attempts} == {site.port}


async def test_connection_goes_only_to_the_checked_address(tmp_path: Path, site: TestSite) -> None:
    # A name that resolves to a private address and to the (allowed) test site: the
    # connector only ever receives the checked, allowed address.
    resolver = FakeResolver({"rebind.test": ["10.9.8.7", "127.0.0.1", "169.254.169.254"]})
    connects = ConnectLog()
    settings = realtime_settings(tmp_path, site)
    rt = RealtimeRuntime(settings, RuntimeHooks(base_resolver=resolver, connect_observer=connects))
    await rt.start()
    try:
        got = await rt.retriever.retrieve(site.url("/page/product.html", host="rebind.test"))
    finally:
        await rt.aclose()
    assert got.outcome.status == 200
    assert connects.attempts and all(addr == "127.0.0.1" for addr, _ in connects.attempts)


def test_policy_classifies_addresses() -> None:
    policy = AddressPolicy()
    assert policy.forbidden_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert policy.forbidden_reason(ipaddress.ip_address("2606:4700:4700::1111")) is None
    cases = {
        "127.0.0.1": "loopback",
        "10.1.2.3": "private",
        "100.64.0.1": "CGNAT",
        "169.254.169.254": "metadata",
        "fd00:ec2::254": "metadata",
        "::ffff:10.0.0.1": "IPv4-mapped",
        "2002:a00:1::": "6to4",
        "64:ff9b::7f00:1": "NAT64",
        "224.0.0.1": "multicast",
        "240.0.0.1": "reserved",
        "::": "unspecified",
    }
    for address, word in cases.items():
        reason = policy.forbidden_reason(ipaddress.ip_address(address))
        assert reason is not None and word in reason, (address, reason)


def test_allow_rules_are_exact() -> None:
    policy = AddressPolicy(allow=["127.0.0.1:8080", "10.0.0.0/8", "[::1]:9000"])
    loop = ipaddress.ip_address("127.0.0.1")
    assert policy.forbidden_reason(loop, 8080) is None
    assert policy.forbidden_reason(loop, 8081) is not None
    assert policy.forbidden_reason(ipaddress.ip_address("10.20.30.40"), 1) is None
    assert policy.forbidden_reason(ipaddress.ip_address("::1"), 9000) is None
    assert policy.forbidden_reason(ipaddress.ip_address("::ffff:127.0.0.1"), 8080) is None
    assert policy.forbidden_reason(ipaddress.ip_address("169.254.169.254"), 8080) is not None
    with pytest.raises(ValueError):
        parse_allow_rule("not-an-address")


def test_guard_can_be_disabled_explicitly() -> None:
    assert AddressPolicy(enabled=False).forbidden_reason(ipaddress.ip_address("127.0.0.1")) is None

"""The SSRF guard at aiohttp's seams: a checking resolver and a checking socket factory.

Layer: adapter (aiohttp). `GuardedResolver` resolves through an injectable base
resolver, drops every forbidden address and hands the connector only the checked
ones, so the connection goes to an address that was checked (no DNS-rebinding
gap between check and connect). `guarded_socket_factory` checks the exact
address again right before a socket is created: IP-literal URLs, which aiohttp
never passes to a resolver, are covered there as well.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from aiohappyeyeballs.types import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from realtime.ssrf import AddressPolicy

__all__ = ["ConnectObserver", "ForbiddenAddressError", "GuardedResolver", "guarded_socket_factory"]

ConnectObserver = Callable[[str, int], None]
"""Told (address, port) of every socket about to connect (tests count attempts with it)."""


class ForbiddenAddressError(OSError):
    """The SSRF guard refused an address; aiohttp wraps it in a connector error."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"SSRF guard: {reason}")
        self.host = host
        self.reason = reason


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text.split("%", 1)[0])


class GuardedResolver(AbstractResolver):
    """Resolves names, then keeps only the addresses the policy allows.

    Args:
        policy: The address policy.
        base: The resolver that really resolves (tests inject one mapping names
            to private addresses); default: aiohttp's DefaultResolver.
    """

    def __init__(self, policy: AddressPolicy, base: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._base = base or DefaultResolver()
        self._owns_base = base is None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve `host` and return only allowed addresses.

        Raises:
            ForbiddenAddressError: The name is blocked or every address is forbidden.
        """
        reason = self._policy.hostname_reason(host)
        if reason is not None:
            raise ForbiddenAddressError(host, reason)
        results = await self._base.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refused: list[str] = []
        for result in results:
            why = self._policy.forbidden_reason(_ip(result["host"]), result["port"] or port)
            if why is None:
                allowed.append(result)
            else:
                refused.append(why)
        if not allowed:
            detail = "; ".join(refused) or "no address"
            raise ForbiddenAddressError(host, f"{host} resolves only to forbidden addresses ({detail})")
        return allowed

    async def close(self) -> None:
        """Close the base resolver when this one created it."""
        if self._owns_base:
            await self._base.close()


def guarded_socket_factory(
    policy: AddressPolicy, observer: ConnectObserver | None = None
) -> Callable[[AddrInfoType], socket.socket]:
    """A socket factory for TCPConnector that refuses forbidden addresses before connect()."""

    def factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address, port = str(sockaddr[0]), int(sockaddr[1])
        reason = policy.forbidden_reason(_ip(address), port)
        if reason is not None:
            raise ForbiddenAddressError(address, reason)
        if observer is not None:
            observer(address, port)
        sock = socket.socket(family=family, type=type_, proto=proto)
        sock.setblocking(False)
        return sock

    return factory

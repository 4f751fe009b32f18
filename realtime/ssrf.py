"""The SSRF guard's policy: which addresses and host names the fetcher may reach.

Layer: domain (pure `ipaddress`). The policy is applied three times on every hop:
to the URL before any resolution (IP literals, numeric forms, blocked names), in
the resolver (every resolved address; only the checked ones are handed to the
connector), and in the socket factory right before `connect()` (so a connection
only ever goes to an address that was checked). Forbidden: anything that is not a
globally routable unicast address (loopback, RFC 1918, CGNAT 100.64/10, link-local,
unique-local, multicast, reserved, unspecified, documentation, benchmarking) and
the cloud metadata endpoints; IPv6 forms that carry an IPv4 address (IPv4-mapped,
IPv4-compatible, 6to4, Teredo, NAT64) are judged by the address they carry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from agentplane.errors import PermissionDeniedError
from realtime.urls import Target

__all__ = ["AddressPolicy", "AllowRule", "parse_allow_rule"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192", "168.63.129.16")
)
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_EXTRA_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in ("0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "240.0.0.0/4")
)
_EXTRA_V6 = tuple(ipaddress.IPv6Network(n) for n in ("100::/64", "2001:db8::/32", "fc00::/7", "fec0::/10"))


@dataclass(frozen=True)
class AllowRule:
    """An explicit exception to the guard: a network and optionally one port."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None = None

    def matches(self, ip: IPAddress, port: int | None) -> bool:
        """Whether `ip`:`port` is allowed by this rule."""
        return ip.version == self.network.version and ip in self.network and (self.port is None or self.port == port)


def parse_allow_rule(text: str) -> AllowRule:
    """Parse "127.0.0.1", "127.0.0.0/8", "127.0.0.1:8080", "[::1]:8080" or "::1/128".

    Raises:
        ValueError: Not a CIDR or address with an optional port.
    """
    raw = text.strip()
    port: int | None = None
    if raw.startswith("["):
        inner, _, rest = raw[1:].partition("]")
        raw = inner
        if rest:
            port = int(rest.removeprefix(":"))
    elif raw.count(":") == 1:
        raw, _, port_text = raw.partition(":")
        port = int(port_text)
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port out of range in allow rule {text!r}")
    return AllowRule(ipaddress.ip_network(raw, strict=False), port)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip.teredo is not None:
        return ip.teredo[1], "Teredo"
    for net in _NAT64:
        if ip in net:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def _category(ip: IPAddress) -> str | None:
    """Why `ip` is not a public destination, or None when it is one."""
    if ip in _METADATA:
        return "a cloud metadata endpoint"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address):
        if ip in _CGNAT:
            return "shared address space (CGNAT)"
        if any(ip in n for n in _EXTRA_V4):
            return "reserved"
    elif any(ip in n for n in _EXTRA_V6):
        return "private or reserved"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


class AddressPolicy:
    """Decides whether the fetcher may connect to an address.

    Args:
        enabled: False turns the guard off (never in production).
        allow: Explicit exceptions ("127.0.0.1/32", "127.0.0.1:8080").
        blocked_hostnames: Names refused before resolution; subdomains of
            "localhost" are refused as well.

    Raises:
        ValueError: An allow rule cannot be parsed.
    """

    def __init__(self, *, enabled: bool = True, allow: Iterable[str] = (), blocked_hostnames: Iterable[str] = ()):
        self.enabled = enabled
        self.rules = tuple(parse_allow_rule(a) for a in allow)
        self._blocked = frozenset(h.lower().rstrip(".") for h in blocked_hostnames)

    def forbidden_reason(self, ip: IPAddress, port: int | None = None) -> str | None:
        """Why connecting to `ip`:`port` is refused, or None when it is allowed."""
        if not self.enabled:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        checked: list[tuple[IPAddress, str]] = [(ip, "")]
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(ip)
            if embedded is not None:
                checked.append((embedded[0], f" ({embedded[1]} form of {embedded[0]})"))
        if any(rule.matches(addr, port) for addr, _ in checked for rule in self.rules):
            return None
        for addr, note in reversed(checked):
            category = _category(addr)
            if category is not None:
                return f"{ip} is {category}{note}"
        return None

    def hostname_reason(self, host: str) -> str | None:
        """Why the host name itself is refused (before resolution), or None."""
        if not self.enabled:
            return None
        name = host.lower().rstrip(".")
        if name in self._blocked or name.endswith(".localhost") or name == "localhost":
            return f"host name {name!r} is reserved for local services"
        return None

    def check_target(self, target: Target) -> None:
        """Refuse a URL whose host is a forbidden literal or name, before any I/O.

        Raises:
            PermissionDeniedError: reason SSRF_BLOCKED.
        """
        reason = (
            self.forbidden_reason(target.ip, target.port)
            if target.ip is not None
            else self.hostname_reason(target.host)
        )
        if reason is not None:
            raise self.refusal(target.url, reason)

    @staticmethod
    def refusal(url: str, reason: str) -> PermissionDeniedError:
        """The error reported when the guard refuses `url`."""
        return PermissionDeniedError(
            f"refused to fetch {url}: {reason}; the SSRF guard only allows public addresses "
            "(operators can add exceptions in realtime.ssrf.allow)",
            reason="SSRF_BLOCKED",
            metadata={"url": url[:200], "why": reason},
        )

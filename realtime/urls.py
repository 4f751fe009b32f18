"""URL validation and normalisation before any I/O: scheme, credentials, host forms.

Layer: domain. Every URL the fetcher touches (the caller's, each redirect hop,
robots.txt) passes through `parse_url`. Hosts are normalised the way a browser
(WHATWG URL standard) would read them: lower case, IDNA, trailing dot dropped, and
legacy numeric IPv4 forms (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`)
rewritten to dotted quads, so the SSRF guard judges the address the connection
would really go to, and the URL handed to the HTTP client carries that canonical
form only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from agentplane.errors import FieldViolation, InvalidArgumentError

__all__ = ["MAX_URL_CHARS", "Target", "parse_ipv4_host", "parse_url"]

MAX_URL_CHARS = 8192
_SCHEMES = {"http": 80, "https": 443}
# Characters a host may not contain: the WHATWG forbidden host code points and every control or space.
_FORBIDDEN_HOST_CHAR = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|]")
_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f]")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A validated, normalised http(s) URL."""

    url: str
    """The URL to request: canonical host, no fragment."""
    scheme: str
    host: str
    """Lower-case ASCII host name, or the canonical IP (IPv6 without brackets)."""
    port: int
    ip: IPAddress | None
    """The address when the host is an IP literal (checked without resolution)."""

    @property
    def origin(self) -> str:
        """scheme://host[:port], the key of robots.txt."""
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        default = _SCHEMES[self.scheme]
        return f"{self.scheme}://{host}" if self.port == default else f"{self.scheme}://{host}:{self.port}"


def _bad(url: str, message: str, reason: str) -> InvalidArgumentError:
    shown = url if len(url) <= 200 else url[:200] + "..."
    return InvalidArgumentError(
        f"{message}: {shown!r}", reason=reason, violations=[FieldViolation("url", message)], metadata={"url": shown}
    )


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 address (decimal, 0-octal, 0x-hex); None when not numeric."""
    if part[:2] in ("0x", "0X"):
        digits = part[2:]
        if digits == "":
            return 0
        return int(digits, 16) if all(c in "0123456789abcdefABCDEF" for c in digits) else None
    if len(part) > 1 and part[0] == "0":
        return int(part[1:], 8) if all(c in "01234567" for c in part[1:]) else None
    return int(part) if part.isdigit() and part.isascii() else None


def parse_ipv4_host(host: str) -> ipaddress.IPv4Address | None:
    """Read `host` as an IPv4 address the way browsers and inet_aton do.

    Returns None when the host is a name (its last label is not numeric).

    Raises:
        ValueError: The host ends in a number but is not a valid IPv4 address
            (a browser refuses such a URL too).
    """
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if not last or (_ipv4_number(last) is None and not (last.isdigit() and last.isascii())):
        return None
    if len(parts) > 4:
        raise ValueError("more than four parts")
    numbers = []
    for part in parts:
        number = _ipv4_number(part) if part else None
        if number is None:
            raise ValueError(f"part {part!r} is not a number")
        numbers.append(number)
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError("a part is out of range")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _split_netloc(url: str, netloc: str) -> tuple[str, str]:
    """(host, port text) of a netloc without user info."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _bad(url, "unterminated IPv6 literal", "BAD_HOST")
        rest = netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _bad(url, "junk after the IPv6 literal", "BAD_HOST")
        return netloc[: end + 1], rest[1:]
    host, sep, port = netloc.rpartition(":")
    return (host, port) if sep else (netloc, "")


def _normalise_host(url: str, raw: str) -> tuple[str, IPAddress | None]:
    if raw.startswith("["):
        inner = raw[1:-1]
        if "%" in inner:
            raise _bad(url, "IPv6 zone identifiers are not allowed", "BAD_HOST")
        try:
            ip6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise _bad(url, "invalid IPv6 literal", "BAD_HOST") from None
        return ip6.compressed, ip6
    host = unquote(raw)
    if not host:
        raise _bad(url, "URL has no host", "BAD_HOST")
    try:
        host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        raise _bad(url, "host is not a valid internationalised name", "BAD_HOST") from None
    if _FORBIDDEN_HOST_CHAR.search(host):
        raise _bad(url, "host contains forbidden characters", "BAD_HOST")
    try:
        ip4 = parse_ipv4_host(host)
    except ValueError as exc:
        raise _bad(url, f"host ends in a number but is not an IPv4 address ({exc})", "BAD_HOST") from None
    if ip4 is not None:
        return str(ip4), ip4
    host = host.rstrip(".")
    if not host or ".." in host or len(host) > 253:
        raise _bad(url, "host is not a valid name", "BAD_HOST")
    return host, None


def parse_url(url: str) -> Target:
    """Validate and normalise an http(s) URL.

    Args:
        url: The URL as given by a caller or a Location header (absolute).

    Returns:
        The normalised target.

    Raises:
        InvalidArgumentError: Not http/https, no host, credentials in the URL,
            a malformed host or port, or too long.
    """
    text = url.strip()
    if not text:
        raise _bad(url, "URL is empty", "EMPTY_URL")
    if len(text) > MAX_URL_CHARS:
        raise _bad(url, f"URL is longer than {MAX_URL_CHARS} characters", "URL_TOO_LONG")
    if _CONTROL_CHAR.search(text):
        raise _bad(url, "URL contains control characters", "BAD_URL")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise _bad(url, f"URL cannot be parsed ({exc})", "BAD_URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise _bad(url, "only http and https URLs can be fetched", "UNSUPPORTED_SCHEME")
    netloc = parts.netloc
    if "@" in netloc:
        raise _bad(url, "credentials in URLs are not allowed", "URL_CREDENTIALS")
    raw_host, port_text = _split_netloc(url, netloc)
    host, ip = _normalise_host(url, raw_host)
    if port_text:
        if not port_text.isdigit() or not port_text.isascii() or not 0 < int(port_text) < 65536:
            raise _bad(url, "port must be a number from 1 to 65535", "BAD_PORT")
        port = int(port_text)
    else:
        port = _SCHEMES[scheme]
    shown_host = f"[{host}]" if isinstance(ip, ipaddress.IPv6Address) else host
    new_netloc = shown_host if port == _SCHEMES[scheme] else f"{shown_host}:{port}"
    path = parts.path or "/"
    normalised = urlunsplit((scheme, new_netloc, path.replace(" ", "%20"), parts.query.replace(" ", "%20"), ""))
    return Target(url=normalised, scheme=scheme, host=host, port=port, ip=ip)

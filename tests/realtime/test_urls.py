"""URL validation and host normalisation (WHATWG numeric IPv4 forms included)."""

from __future__ import annotations

import ipaddress

import pytest

from agentplane.errors import InvalidArgumentError
from realtime.urls import parse_ipv4_host, parse_url


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("10.0.258", "10.0.1.2"),
        ("1.2.3.4.", "1.2.3.4"),
        ("0", "0.0.0.0"),
    ],
)
def test_numeric_ipv4_forms(host: str, address: str) -> None:
    assert parse_ipv4_host(host) == ipaddress.IPv4Address(address)


def test_names_are_not_numbers() -> None:
    assert parse_ipv4_host("example.com") is None
    assert parse_ipv4_host("1.2.3.example") is None
    for bad in ("1.2.3.4.5", "256.1.1.1", "08.1.1.1", "1.2.3.0x"):
        if bad == "1.2.3.0x":
            assert parse_ipv4_host(bad) == ipaddress.IPv4Address("1.2.3.0")
            continue
        with pytest.raises(ValueError):
            parse_ipv4_host(bad)


def test_normalisation() -> None:
    t = parse_url("HTTP://Example.COM:80/a b?q=1 2#frag")
    assert t.url == "http://example.com/a%20b?q=1%202" and t.host == "example.com" and t.port == 80
    assert t.origin == "http://example.com"
    assert parse_url("https://bücher.example/").host == "xn--bcher-kva.example"
    t6 = parse_url("http://[0:0:0:0:0:0:0:1]:8080")
    assert t6.url == "http://[::1]:8080/" and t6.origin == "http://[::1]:8080"
    assert parse_url("http://0x7f.1/").url == "http://127.0.0.1/"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "EMPTY_URL"),
        ("javascript:alert(1)", "UNSUPPORTED_SCHEME"),
        ("http://a@b.test/", "URL_CREDENTIALS"),
        ("http://b.test:0/", "BAD_PORT"),
        ("http://b.test:99999/", "BAD_PORT"),
        ("http:///path", "BAD_HOST"),
        ("http://[::1/", "BAD_URL"),
        ("http://[fe80::1%25eth0]/", "BAD_HOST"),
        ("http://a b.test/", "BAD_HOST"),
        ("http://x.test/a\nb", "BAD_URL"),
        ("http://x.test/a\x7fb", "BAD_URL"),
        ("http://a%00b.test/", "BAD_HOST"),
        ("http://a%09b.test/", "BAD_HOST"),
        ("http://a^b.test/", "BAD_HOST"),
        ("http://a%7Cb.test/", "BAD_HOST"),
        ("http://a\\b.test/", "BAD_HOST"),
        ("http://" + "a" * 9000 + ".test/", "URL_TOO_LONG"),
    ],
)
def test_bad_urls(url: str, reason: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_url(url)
    assert caught.value.reason == reason
    assert caught.value.violations[0].field == "url"

"""The console's browser defences: same-site checks, token comparison, sign-in limits, headers."""

from __future__ import annotations

from console.guard import CSP, SignInLimiter, from_same_site, security_headers, token_matches

OWN = "http://127.0.0.1:8480"


def test_posts_from_other_sites_are_told_apart_from_the_consoles_own():
    assert from_same_site({"Sec-Fetch-Site": "same-origin", "Origin": OWN}, OWN)
    assert from_same_site({}, OWN)  # a non-browser client: judged by its token alone
    assert not from_same_site({"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, OWN)
    assert not from_same_site({"Sec-Fetch-Site": "same-site"}, OWN)
    assert not from_same_site({"Origin": "http://evil.example"}, OWN)
    assert not from_same_site({"Origin": "null"}, OWN)


def test_tokens_must_be_present_and_equal():
    assert token_matches("abc", "abc")
    assert not token_matches("abc", "abd")
    assert not token_matches("abc", "")
    assert not token_matches(None, "abc")
    assert not token_matches("", "")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sign_in_attempts_are_limited_per_address_and_in_total():
    clock = Clock()
    limiter = SignInLimiter(per_address_per_min=6, burst=2, total_per_min=3, clock=clock)
    assert limiter.try_attempt("10.0.0.1") == 0.0
    assert limiter.try_attempt("10.0.0.1") == 0.0
    wait = limiter.try_attempt("10.0.0.1")
    assert 9.0 < wait <= 10.0  # 6 a minute: one every 10 s
    assert limiter.try_attempt("10.0.0.2") == 0.0  # its own bucket, but the total is now spent
    assert limiter.try_attempt("10.0.0.3") > 0.0
    clock.now += 60
    assert limiter.try_attempt("10.0.0.1") == 0.0


def test_security_headers_forbid_inline_code_framing_and_caching_of_pages():
    page = security_headers(tls=False, cacheable=False)
    assert page["Content-Security-Policy"] == CSP and "unsafe" not in CSP
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
        assert directive in CSP
    assert page["Cache-Control"] == "no-store" and "Strict-Transport-Security" not in page
    assert security_headers(tls=True, cacheable=True)["Strict-Transport-Security"].startswith("max-age=")

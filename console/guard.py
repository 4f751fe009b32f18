"""The console's browser-facing defences: headers, CSRF checks, sign-in rate limits.

Layer: console HTTP boundary (pure functions and small state; the middleware that
applies them lives in `app.py`).

- Every response carries a strict Content-Security-Policy: scripts, styles, images
  and connections only from the console itself, no inline script or style, no
  framing, forms post only to the console.
- Every state-changing request (POST) must carry the session's CSRF token in the
  form (synchronizer token; sign-in uses a double-submitted cookie instead, since
  there is no session yet) and must not come from another site (`Sec-Fetch-Site`,
  `Origin`). Session cookies are also SameSite=Strict.
- Sign-in attempts are rate limited per client address and in total.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from agentplane.limits import TokenBucket

__all__ = ["CSP", "SignInLimiter", "from_same_site", "security_headers", "token_matches"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def security_headers(*, tls: bool, cacheable: bool) -> dict[str, str]:
    """Headers for every response (static files may be cached; pages never are)."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts.
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "private, max-age=300" if cacheable else "no-store",
    }
    if tls:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def from_same_site(headers: Mapping[str, str], own_origin: str) -> bool:
    """Whether a request was made by the console's own pages (not another site).

    Browsers send `Sec-Fetch-Site` and `Origin` on posts; a request with neither (a
    non-browser client) is judged by its CSRF token alone.
    """
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("Origin")
    return origin is None or origin == own_origin


def token_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token with the one sent."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class SignInLimiter:
    """Token buckets on sign-in attempts: one per client address, one for all.

    Args:
        per_address_per_min: Refill rate of each address's bucket.
        burst: Capacity of each address's bucket.
        total_per_min: Refill rate (and capacity) of the shared bucket.
        max_addresses: Addresses tracked at once (least recently seen dropped first).
        clock: Monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        per_address_per_min: float,
        burst: int,
        total_per_min: float,
        *,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_address_per_min / 60.0
        self._burst = burst
        self._clock = clock
        self._max = max_addresses
        self._total = TokenBucket(total_per_min / 60.0, max(1, int(total_per_min)), clock)
        self._by_address: OrderedDict[str, TokenBucket] = OrderedDict()

    def try_attempt(self, address: str) -> float:
        """Count one attempt from `address`: 0.0 when allowed, else seconds until it would be."""
        bucket = self._by_address.get(address)
        if bucket is None:
            bucket = self._by_address[address] = TokenBucket(self._rate, self._burst, self._clock)
            while len(self._by_address) > self._max:
                self._by_address.popitem(last=False)
        self._by_address.move_to_end(address)
        wait = bucket.try_take()
        if wait > 0.0:
            return wait
        return self._total.try_take()

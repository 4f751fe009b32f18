"""The seam between the fetcher and the network: one GET, no redirects, bounded body.

Layer: domain interface. `adapters.http.AiohttpTransport` implements it; the
fetcher above it owns redirects, retries, robots.txt, politeness and caching.
A transport translates its library's exceptions into agentplane errors:
PERMISSION_DENIED (SSRF guard at connect), RESOURCE_EXHAUSTED (size limits),
FAILED_PRECONDITION (content type or encoding), UNAVAILABLE (network).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["BodyLimits", "HttpTransport", "RawResponse"]


@dataclass(frozen=True)
class BodyLimits:
    """How much of a response body to read, and which media types to read at all."""

    max_wire_bytes: int
    """Largest body on the wire (compressed)."""
    max_decoded_bytes: int
    """Largest body after Content-Encoding is undone."""
    allowed_types: frozenset[str] | None = None
    """Media types of 2xx bodies that are read; None = any."""
    truncate: bool = False
    """Cut the body at the limit instead of failing (robots.txt)."""


@dataclass(frozen=True)
class RawResponse:
    """One HTTP response, its body decoded from its Content-Encoding."""

    status: int
    url: str
    headers: Mapping[str, str]
    """Lower-case names; the first value of each."""
    media_type: str
    """Lower-case type/subtype without parameters ("" when absent)."""
    charset: str | None
    """The charset parameter of Content-Type, if any."""
    body: bytes
    wire_bytes: int


class HttpTransport(Protocol):
    """Sends one GET and reads its body within limits."""

    async def get(self, url: str, headers: Mapping[str, str], limits: BodyLimits) -> RawResponse:
        """GET `url` without following redirects.

        Raises:
            PermissionDeniedError: The SSRF guard refused the address at connect time.
            ResourceExhaustedError: The body passed a size limit.
            FailedPreconditionError: A 2xx media type outside `limits.allowed_types`.
            UnavailableError: The upstream could not be reached or broke the connection.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...

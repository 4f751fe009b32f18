"""The contract between the router and the provider adapters.

Layer: domain. `ChatProvider` is the one small seam every provider adapter
implements (OpenAI-compatible, Anthropic); adapters report every failure as an
`UpstreamError` whose `kind` tells the router whether to retry, fail over,
trip the breaker or give up. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Protocol

from gateway.models import ChatRequest, Completion, Embeddings, StreamDelta, StreamEnd

if TYPE_CHECKING:
    from gateway.catalogue import Deployment

__all__ = ["ChatProvider", "FailureKind", "UpstreamError"]


class FailureKind(enum.Enum):
    """Why an upstream attempt failed."""

    RATE_LIMITED = "rate_limited"
    """429 (or Anthropic 529 overloaded): retry after Retry-After, or fail over."""
    SERVER_ERROR = "server_error"
    """5xx: retry with backoff or fail over."""
    TIMEOUT = "timeout"
    """The deployment's own timeout fired."""
    CONNECTION = "connection"
    """Refused, reset or dropped connection."""
    PROTOCOL = "protocol"
    """An answer that does not parse, or a stream that ended without a finish reason."""
    MISCONFIGURED = "misconfigured"
    """401/403/404 from upstream: our key, URL or model name is wrong; fail over, do not retry."""
    REJECTED = "rejected"
    """400/413/422: the request itself is refused; neither retry nor fail over."""

    @property
    def retryable(self) -> bool:
        """Whether sending the same request to the same deployment again may succeed."""
        return self in _RETRYABLE

    @property
    def unhealthy(self) -> bool:
        """Whether the failure says the deployment is unhealthy (counts for its breaker)."""
        return self is not FailureKind.REJECTED


_RETRYABLE = frozenset(
    {
        FailureKind.RATE_LIMITED,
        FailureKind.SERVER_ERROR,
        FailureKind.TIMEOUT,
        FailureKind.CONNECTION,
        FailureKind.PROTOCOL,
    }
)


class UpstreamError(Exception):
    """A failed upstream attempt.

    Args:
        kind: What went wrong.
        message: What the upstream said (never a secret).
        http_status: Upstream HTTP status, 0 when none was received.
        retry_after_s: The upstream's Retry-After, when given.
    """

    def __init__(
        self, kind: FailureKind, message: str, *, http_status: int = 0, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.http_status = http_status
        self.retry_after_s = retry_after_s

    def __repr__(self) -> str:
        return f"UpstreamError({self.kind.value}, {self.message!r}, http_status={self.http_status})"


class ChatProvider(Protocol):
    """One provider wire format over one pooled HTTP session.

    Every method takes the deployment to call and a timeout in seconds, and raises
    `UpstreamError` (never a transport library's exception).
    """

    async def complete(self, deployment: Deployment, request: ChatRequest, timeout_s: float) -> Completion:
        """One non-streaming answer."""
        ...

    def stream(
        self, deployment: Deployment, request: ChatRequest, timeout_s: float
    ) -> AsyncGenerator[StreamDelta | StreamEnd, None]:
        """Stream deltas, then exactly one `StreamEnd`; a stream that ends without one raises."""
        ...

    async def embed(self, deployment: Deployment, inputs: list[str], timeout_s: float) -> Embeddings:
        """One vector per input."""
        ...

    async def aclose(self) -> None:
        """Close the pooled session."""
        ...

"""Re-export another process's Prometheus metrics through this service's endpoint, unchanged.

Layer: shared core, HTTP client (aiohttp). Used for Triton: it serves its own metrics
on a loopback port that a Prometheus elsewhere cannot reach, and the service that
owns it is already scraped (with auth or TLS). Before each scrape `refresh()` fetches
the other endpoint (bounded by a timeout); its text is appended to the registry's
exposition as it was served (names and types untouched), and an `up` gauge says
whether the last fetch worked (0: nothing of it is served).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import aiohttp

from agentplane.metrics.registry import MetricsRegistry

__all__ = ["ReexportedMetrics"]

log = logging.getLogger(__name__)


class ReexportedMetrics:
    """The metrics of `url`, fetched by `refresh()` and served with this registry's.

    Args:
        registry: Where to add them.
        up_name: Name of the up gauge without the `agentplane_` prefix, e.g. "inference_triton_up".
        url: The other endpoint, e.g. "http://127.0.0.1:18002/metrics".
        timeout_s: Bound on one fetch.
    """

    def __init__(self, registry: MetricsRegistry, up_name: str, url: str, timeout_s: float = 2.0) -> None:
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._text = b""
        self._up = 0.0
        self._session: aiohttp.ClientSession | None = None
        registry.add_raw(lambda: self._text)

        def up() -> Iterator[tuple[Sequence[str], float]]:
            yield (), self._up

        registry.scraped_gauge(up_name, f"1 when {url} answered the last scrape.", [], up)

    async def refresh(self) -> None:
        """Fetch the other endpoint now; on failure its metrics are dropped and up is 0."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(self._url) as resp:
                resp.raise_for_status()
                self._text = await resp.read()
            self._up = 1.0
        except (aiohttp.ClientError, TimeoutError) as exc:
            if self._up:
                log.warning("metrics of %s unavailable: %r", self._url, exc)
            self._text = b""
            self._up = 0.0

    async def aclose(self) -> None:
        """Close the HTTP session (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

"""Re-export another process's Prometheus metrics through this service's endpoint.

Layer: shared core, HTTP client (aiohttp). Used for Triton: it serves its own metrics
on a loopback port that a Prometheus elsewhere cannot reach, and the service that
owns it is already scraped (with auth or TLS). Before each scrape `refresh()` fetches
the other endpoint (bounded by a timeout) and the collector yields its families as
they are, plus an `up` gauge that is 0 when the fetch failed (and then no families).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import aiohttp
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from agentplane.metrics.registry import NAMESPACE, MetricsRegistry

__all__ = ["ReexportedMetrics"]

log = logging.getLogger(__name__)


class ReexportedMetrics(Collector):
    """The families of `url`, fetched by `refresh()` and served with this registry's.

    Args:
        registry: Where to add them.
        up_name: Name of the up gauge without the `agentplane_` prefix, e.g. "inference_triton_up".
        url: The other endpoint, e.g. "http://127.0.0.1:18002/metrics".
        timeout_s: Bound on one fetch.
    """

    def __init__(self, registry: MetricsRegistry, up_name: str, url: str, timeout_s: float = 2.0) -> None:
        self._up_name = f"{NAMESPACE}_{up_name}"
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._families: list[Metric] = []
        self._up = 0.0
        self._session: aiohttp.ClientSession | None = None
        registry.add_collector(self)

    async def refresh(self) -> None:
        """Fetch the other endpoint now; on failure its families are dropped and up is 0."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(self._url) as resp:
                if resp.status != 200:
                    raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status)
                text = await resp.text()
            self._families = list(text_string_to_metric_families(text))
            self._up = 1.0
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            if self._up:
                log.warning("metrics of %s unavailable: %r", self._url, exc)
            self._families = []
            self._up = 0.0

    async def aclose(self) -> None:
        """Close the HTTP session (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._up_name, f"1 when {self._url} answered the last scrape")

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._up_name, f"1 when {self._url} answered the last scrape", value=self._up)
        yield from self._families

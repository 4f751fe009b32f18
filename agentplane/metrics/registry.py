"""One service's metrics registry: named metrics with bounded labels, rendered for Prometheus.

Layer: shared core (prometheus_client). Each service process builds one
`MetricsRegistry` (its own `CollectorRegistry`, never the library's global one, so that
several services in one test process keep apart) and passes it to whatever records
metrics. Every metric is named `agentplane_<name>`; label names are checked against
`FORBIDDEN_LABELS`, and tenants pass through `tenant()` so their number stays capped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, choose_encoder, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agentplane.metrics.labels import TenantLabels, check_label_names
from agentplane.settings import MetricsSettings

__all__ = ["LATENCY_BUCKETS_S", "NAMESPACE", "Children", "GaugeRows", "MetricsRegistry"]

NAMESPACE = "agentplane"

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Call latency buckets: sub-millisecond gateway hops up to minute-long tasks."""


M = TypeVar("M", Counter, Gauge, Histogram)


class Children(Generic[M]):
    """A labelled metric's children by label values, looked up once (`labels()` takes a lock each time).

    Args:
        metric: The labelled metric.
    """

    __slots__ = ("_children", "_metric")

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        """The child for these label values."""
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


GaugeRows = Callable[[], Iterable[tuple[Sequence[str], float]]]
"""Reads (label values, value) rows of a gauge when it is scraped."""


class _ScrapedGauge(Collector):
    """A labelled gauge whose rows are read from live state at scrape time (nothing on the hot path)."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...], rows: GaugeRows) -> None:
        self._name = name
        self._documentation = documentation
        self._labels = labels
        self._rows = rows

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._name, self._documentation, labels=self._labels)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self._name, self._documentation, labels=self._labels)
        for values, value in self._rows():
            family.add_metric(list(values), value)
        yield family


_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
}


class MetricsRegistry:
    """The metrics of one service process.

    Args:
        service: The service's name ("gateway", ...); exported as `agentplane_service_info`.
        settings: The metrics settings (tenant label cap).
        process: Also export the process's CPU, memory and file descriptors (`process_*`).
    """

    def __init__(self, service: str, settings: MetricsSettings | None = None, *, process: bool = True) -> None:
        settings = settings or MetricsSettings()
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.tenant = TenantLabels(settings.max_tenant_labels)
        self._raw: list[Callable[[], bytes]] = []
        if process:
            ProcessCollector(registry=self.registry)
        info = self.gauge("service_info", "The service this endpoint belongs to (always 1).", ["service"])
        info.labels(service).set(1)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter `agentplane_<name>_total` (give `name` without `_total`)."""
        return Counter(
            name, documentation, check_label_names(name, labels), namespace=NAMESPACE, registry=self.registry
        )

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        """A gauge `agentplane_<name>`."""
        return Gauge(name, documentation, check_label_names(name, labels), namespace=NAMESPACE, registry=self.registry)

    def histogram(
        self, name: str, documentation: str, labels: Sequence[str] = (), buckets: Iterable[float] = LATENCY_BUCKETS_S
    ) -> Histogram:
        """A histogram `agentplane_<name>` (seconds unless the name says otherwise)."""
        return Histogram(
            name,
            documentation,
            check_label_names(name, labels),
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=tuple(buckets),
        )

    def scraped_gauge(self, name: str, documentation: str, labels: Sequence[str], rows: GaugeRows) -> None:
        """A gauge `agentplane_<name>` whose rows `rows()` reads from live state at every scrape.

        For values that already exist somewhere (queue depths, breaker states, cache sizes):
        reading them when scraped costs the serving path nothing.
        """
        self.registry.register(
            _ScrapedGauge(f"{NAMESPACE}_{name}", documentation, check_label_names(name, labels), rows)
        )

    def add_collector(self, collector: Collector) -> None:
        """Register a collector that reads its values when scraped (queue depths, breaker states)."""
        self.registry.register(collector)

    def add_raw(self, text: Callable[[], bytes]) -> None:
        """Append `text()` (Prometheus text format, as another process served it) to every rendering.

        Re-exported metrics keep their names exactly (parsing and re-serialising them would
        rename counters to `_total`); a registry with raw parts always renders the text format.
        """
        self._raw.append(text)

    def series_names(self) -> set[str]:
        """Every series name a query may use: `x_total` of counters, `x_bucket`/`x_sum`/`x_count` of histograms.

        Taken from the metric types, so labelled metrics count before their first sample.
        """
        names: set[str] = set()
        for family in self.registry.collect():
            names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        return names

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition of every metric in the format `accept` asks for: (body, content type)."""
        if self._raw:
            parts = [generate_latest(self.registry), *(text() for text in self._raw)]
            return b"".join(p if p.endswith(b"\n") or not p else p + b"\n" for p in parts), CONTENT_TYPE_LATEST
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

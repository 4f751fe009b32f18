"""Domain inference's own metrics: calls by path, texts per call, batches formed, and Triton's re-exported.

Layer: domain-level instrumentation (prometheus_client through the shared registry).

    agentplane_inference_calls_total{model, kind, path}       kind: classify | embed; path: triton | in_process
    agentplane_inference_texts_per_call{kind}
    agentplane_inference_fallback_batches_total{kind}          scraped from the in-process micro-batchers
    agentplane_inference_fallback_batch_items_total{kind}      items / batches = mean batch size formed
    agentplane_inference_triton_up                              1 when Triton's metrics endpoint answered
    nv_inference_*, nv_cache_*, ...                             Triton's own, re-exported (see `TritonMetrics`)

Triton forms its batches in its dynamic batcher: its `nv_inference_count` (inferences) over
`nv_inference_exec_count` (executions) per model is the mean batch size there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from agentplane.metrics import Children, MetricsRegistry
from domain_inference.batching import BatcherStats

__all__ = ["InferenceMetrics"]

_TEXT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class _BatcherCollector(Collector):
    """The in-process micro-batchers' cumulative counters, read when scraped."""

    def __init__(self, stats: Callable[[], Mapping[str, BatcherStats]]) -> None:
        self._stats = stats

    def describe(self) -> Iterator[Metric]:
        yield from self._families({})

    def collect(self) -> Iterator[Metric]:
        yield from self._families(self._stats())

    @staticmethod
    def _families(stats: Mapping[str, BatcherStats]) -> Iterator[Metric]:
        batches = CounterMetricFamily(
            "agentplane_inference_fallback_batches", "Model runs of the in-process path, by kind.", labels=["kind"]
        )
        items = CounterMetricFamily(
            "agentplane_inference_fallback_batch_items",
            "Texts run on the in-process path, by kind (over batches: the mean batch size).",
            labels=["kind"],
        )
        for kind, s in sorted(stats.items()):
            batches.add_metric([kind], s.batches)
            items.add_metric([kind], s.items)
        yield batches
        yield items


class InferenceMetrics:
    """Domain inference's metrics on a service registry.

    Args:
        registry: The service's registry.
    """

    def __init__(self, registry: MetricsRegistry) -> None:
        self._registry = registry
        self._calls = Children(
            registry.counter(
                "inference_calls",
                "Inference calls by model, kind and the path that answered.",
                ["model", "kind", "path"],
            )
        )
        self._texts = Children(
            registry.histogram(
                "inference_texts_per_call", "Texts per inference call, by kind.", ["kind"], buckets=_TEXT_BUCKETS
            )
        )

    def watch_batchers(self, stats: Callable[[], Mapping[str, BatcherStats]]) -> None:
        """Export the in-process batchers' counters (kind -> stats) at every scrape."""
        self._registry.add_collector(_BatcherCollector(stats))

    def call(self, model: str, kind: str, path: str, texts: int) -> None:
        """One answered inference call."""
        self._calls(model, kind, path).inc()
        self._texts(kind).observe(texts)

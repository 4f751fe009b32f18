"""Prometheus metrics shared by every service: registry, bounded labels, RED metrics, /metrics endpoint."""

from agentplane.metrics.breakers import watch_breakers
from agentplane.metrics.endpoint import METRICS_ROLE, MetricsEndpoint, Refresher
from agentplane.metrics.labels import FORBIDDEN_LABELS, OTHER_TENANT, TenantLabels, check_label_names
from agentplane.metrics.reexport import ReexportedMetrics
from agentplane.metrics.registry import LATENCY_BUCKETS_S, NAMESPACE, Children, GaugeRows, MetricsRegistry
from agentplane.metrics.rpc import CallMetrics, RpcMetrics, is_tenant_limit
from agentplane.metrics.scrape import Sample, Snapshot, Window, scrape

__all__ = [
    "FORBIDDEN_LABELS",
    "LATENCY_BUCKETS_S",
    "METRICS_ROLE",
    "NAMESPACE",
    "OTHER_TENANT",
    "CallMetrics",
    "Children",
    "GaugeRows",
    "MetricsEndpoint",
    "MetricsRegistry",
    "ReexportedMetrics",
    "Refresher",
    "RpcMetrics",
    "Sample",
    "Snapshot",
    "TenantLabels",
    "Window",
    "check_label_names",
    "is_tenant_limit",
    "scrape",
    "watch_breakers",
]

"""Bounded label values: metrics never grow a series per task, URL or unbounded tenant set.

Layer: shared core, domain level (no prometheus_client, no I/O). `TenantLabels` gives
the first `cap` tenants seen their own label value and counts every later one as
`_other`, so a platform with thousands of tenants keeps a fixed number of series.
`check_label_names` refuses label names that would carry per-request identities.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FORBIDDEN_LABELS", "OTHER_TENANT", "TenantLabels", "check_label_names"]

OTHER_TENANT = "_other"

FORBIDDEN_LABELS = frozenset(
    {"task_id", "request_id", "trace_id", "span_id", "review_id", "session_id", "source_id", "url", "url_path", "host"}
)
"""Identities of one request or one page: unbounded, so never label values."""


def check_label_names(metric: str, labels: Iterable[str]) -> tuple[str, ...]:
    """Return `labels` as a tuple after refusing per-request identities.

    Raises:
        ValueError: A label would make one series per task, request, URL or host.
    """
    names = tuple(labels)
    bad = sorted(set(names) & FORBIDDEN_LABELS)
    if bad:
        raise ValueError(f"metric {metric}: label(s) {', '.join(bad)} are unbounded; record them in logs or traces")
    return names


class TenantLabels:
    """Label values for tenants, at most `cap` distinct ones (the rest share `_other`).

    The first tenants seen keep their own value for the life of the process, so a
    series never changes meaning; the cap is `metrics.max_tenant_labels`.

    Args:
        cap: Distinct tenants with their own label value.
    """

    __slots__ = ("_cap", "_known")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._known: dict[str, str] = {}

    def __call__(self, tenant: str) -> str:
        """The label value for `tenant`."""
        value = self._known.get(tenant)
        if value is not None:
            return value
        if len(self._known) < self._cap:
            self._known[tenant] = tenant
            return tenant
        return OTHER_TENANT

    def __len__(self) -> int:
        return len(self._known)

    def known(self) -> tuple[str, ...]:
        """The tenants that have their own label value."""
        return tuple(self._known)

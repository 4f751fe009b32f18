"""Watched sources and their snapshots: the domain records and the store they live in.

Layer: domain. A source belongs to one tenant and is only ever read or changed
with that tenant's id in the key. `SourceStore` is the persistence seam
(`adapters.store.SqliteSourceStore` implements it), so the watch list and the
last snapshots survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from realtime.injection import Finding, InjectionReport
from realtime.volatility import Volatility

__all__ = ["Snapshot", "Source", "SourceStore", "report_from_dict", "report_to_dict"]


@dataclass(frozen=True)
class Source:
    """A URL a tenant asked to keep fresh."""

    tenant: str
    source_id: str
    url: str
    volatility: Volatility
    refresh_interval_s: int
    schema: dict[str, Any] | None
    created_at: float
    next_refresh_at: float
    last_refreshed_at: float | None = None
    refresh_count: int = 0
    consecutive_failures: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class Snapshot:
    """What a refresh of a source found."""

    tenant: str
    source_id: str
    url: str
    version: int
    fetched_at: float
    status_code: int
    title: str
    text: str
    data: dict[str, Any] | None
    completeness: float
    content_sha256: str
    changed: bool
    injection: InjectionReport


def report_to_dict(report: InjectionReport) -> dict[str, Any]:
    """JSON form of an injection report."""
    return {
        "flagged": report.flagged,
        "score": report.score,
        "findings": [{"kind": f.kind, "excerpt": f.excerpt, "detail": f.detail} for f in report.findings],
    }


def report_from_dict(data: dict[str, Any]) -> InjectionReport:
    """Inverse of `report_to_dict`."""
    findings = tuple(Finding(f["kind"], f["excerpt"], f["detail"]) for f in data.get("findings", []))
    return InjectionReport(bool(data.get("flagged")), float(data.get("score", 0.0)), findings)


class SourceStore(Protocol):
    """Persistence of sources and snapshots, always keyed by tenant."""

    async def put_source(self, source: Source) -> None:
        """Insert or replace a source."""
        ...

    async def get_source(self, tenant: str, source_id: str) -> Source | None:
        """One source of `tenant`."""
        ...

    async def list_sources(self, tenant: str, after: str, limit: int) -> list[Source]:
        """Sources of `tenant` with ids after `after`, in id order."""
        ...

    async def count_sources(self, tenant: str) -> int:
        """How many sources `tenant` watches."""
        ...

    async def delete_source(self, tenant: str, source_id: str) -> bool:
        """Remove a source and its snapshots; whether it existed."""
        ...

    async def due_sources(self, now: float, limit: int) -> list[Source]:
        """Sources of any tenant whose next refresh is at or before `now`, most overdue first."""
        ...

    async def next_due_at(self) -> float | None:
        """The earliest next refresh time of all sources."""
        ...

    async def watch_stats(self, now: float, grace_s: float) -> tuple[int, int, float]:
        """(sources, sources overdue by more than `grace_s`, seconds since the oldest last refresh) at `now`."""
        ...

    async def add_snapshot(self, snapshot: Snapshot, keep: int) -> None:
        """Store a snapshot, keeping the `keep` latest of its source."""
        ...

    async def latest_snapshot(self, tenant: str, source_id: str) -> Snapshot | None:
        """The newest snapshot of a source."""
        ...

    async def aclose(self) -> None:
        """Close the store."""
        ...

"""Watched sources: register, refresh on schedule, serve the latest snapshot, per tenant.

Layer: domain. `WatchService` is what WatchSource/GetSnapshot/ListSources/
UnwatchSource do; the `RefreshScheduler` calls `refresh` for due sources. A
refresh fetches past the response cache (a conditional request still applies),
extracts when the source has a schema, stores a snapshot and schedules the next
refresh at the source's period with jitter; a failure is recorded and retried
with exponential back-off (never later than the period itself).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import re
from collections.abc import Callable
from dataclasses import replace

from agentplane import request_context
from agentplane.errors import (
    AgentplaneError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)
from realtime.clock import Clock
from realtime.config import ExtractionLimits, WatchSettings
from realtime.extraction import FieldSpec, Schema, validate_schema
from realtime.retrieval import Retriever
from realtime.sources import Snapshot, Source, SourceStore
from realtime.volatility import Volatility

__all__ = ["WatchService"]

log = logging.getLogger(__name__)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def _token(source_id: str) -> str:
    return base64.urlsafe_b64encode(source_id.encode()).decode().rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgumentError(
            "page_token is not one this service issued", reason="BAD_PAGE_TOKEN",
            violations=[FieldViolation("page_token", "not a token from a previous ListSources")],
        ) from None  # fmt: skip


class WatchService:
    """Tenant-scoped watched sources.

    Args:
        store: Persistence.
        retriever: Fetch and parse.
        settings: The [realtime.watch] block.
        limits: Extraction bounds (schemas are validated at registration).
        clock: Time source.
        rng: Jitter source (seeded in tests).
        on_change: Called when the schedule changed (wakes the scheduler).
    """

    def __init__(
        self,
        store: SourceStore,
        retriever: Retriever,
        settings: WatchSettings,
        limits: ExtractionLimits,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._retriever = retriever
        self._settings = settings
        self._limits = limits
        self._clock = clock
        self._rng = rng or random.Random()
        self.on_change = on_change

    def _jittered(self, seconds: float) -> float:
        spread = self._settings.jitter
        return seconds * (1.0 + self._rng.uniform(-spread, spread)) if spread else seconds

    async def watch(
        self,
        tenant: str,
        *,
        url: str,
        source_id: str = "",
        volatility: Volatility | None = None,
        schema: Schema | None = None,
        refresh_interval_s: int = 0,
    ) -> Source:
        """Register (or update) a source and take its first snapshot now.

        Raises:
            InvalidArgumentError: Bad URL, id or interval.
            PermissionDeniedError: The SSRF guard or robots.txt refuses the URL.
            ResourceExhaustedError: The tenant watches the maximum number of sources.
        """
        target = self._retriever.fetcher.validate(url)
        sid = source_id or "src-" + hashlib.sha256(target.url.encode()).hexdigest()[:16]
        if not _ID.match(sid):
            raise InvalidArgumentError(
                f"source_id {sid!r} must be 1-128 letters, digits, '.', '_', ':' or '-'",
                reason="BAD_SOURCE_ID",
                violations=[FieldViolation("source_id", "1-128 of [A-Za-z0-9._:-], starting with a letter or digit")],
            )
        if refresh_interval_s and refresh_interval_s < self._settings.min_refresh_interval_s:
            raise InvalidArgumentError(
                f"refresh_interval_s must be at least {self._settings.min_refresh_interval_s}",
                reason="REFRESH_TOO_FREQUENT",
                violations=[FieldViolation("refresh_interval_s", f">= {self._settings.min_refresh_interval_s} or 0")],
            )
        vol = self._retriever.volatility.resolve(volatility)
        interval = refresh_interval_s or max(
            self._settings.min_refresh_interval_s, int(self._retriever.volatility.refresh_s(vol))
        )
        existing = await self._store.get_source(tenant, sid)
        if existing is None and await self._store.count_sources(tenant) >= self._settings.max_sources_per_tenant:
            raise ResourceExhaustedError(
                f"tenant {tenant!r} already watches {self._settings.max_sources_per_tenant} sources; "
                "unwatch some first",
                reason="TOO_MANY_SOURCES",
            )
        now = self._clock.now()
        source = Source(
            tenant=tenant,
            source_id=sid,
            url=target.url,
            volatility=vol,
            refresh_interval_s=interval,
            schema=schema.to_dict() if schema is not None else None,
            created_at=existing.created_at if existing else now,
            next_refresh_at=now,
            refresh_count=existing.refresh_count if existing else 0,
        )
        source = await self._refresh(source, raise_permanent=True)
        if self.on_change is not None:
            self.on_change()
        return source

    async def refresh(self, source: Source) -> Source:
        """Refresh one source now (the scheduler's entry point); failures are recorded, not raised."""
        current = await self._store.get_source(source.tenant, source.source_id)
        if current is None:
            return source  # unwatched meanwhile
        return await self._refresh(current, raise_permanent=False)

    async def _refresh(self, source: Source, *, raise_permanent: bool) -> Source:
        try:
            with request_context.deadline_scope(self._settings.refresh_timeout_s):
                snapshot = await self._capture(source)
        except AgentplaneError as exc:
            if raise_permanent and not exc.retryable:
                raise
            failures = source.consecutive_failures + 1
            backoff = min(
                self._settings.failure_backoff_s * 2 ** (failures - 1),
                self._settings.max_failure_backoff_s,
                float(source.refresh_interval_s),
            )
            failed = replace(
                source,
                consecutive_failures=failures,
                last_error=f"{type(exc).__name__}: {exc.message}"[:500],
                next_refresh_at=self._clock.now() + self._jittered(backoff),
            )
            log.info("refresh of %s/%s failed (%d in a row): %s", source.tenant, source.source_id, failures, exc)
            await self._store.put_source(failed)
            return failed
        done = replace(
            source,
            last_refreshed_at=snapshot.fetched_at,
            refresh_count=source.refresh_count + 1,
            consecutive_failures=0,
            last_error="",
            next_refresh_at=self._clock.now() + self._jittered(source.refresh_interval_s),
        )
        await self._store.put_source(done)
        await self._store.add_snapshot(snapshot, self._settings.snapshot_history)
        return done

    async def _capture(self, source: Source) -> Snapshot:
        retriever = self._retriever
        retrieved = await retriever.retrieve(source.url, volatility=source.volatility, bypass_cache=True)
        await retriever.prepare(retrieved, "title", "text", "injection")
        full_text = retriever.text(retrieved)
        data = None
        completeness = 0.0
        if source.schema is not None:
            spec = tuple(FieldSpec.from_dict(f) for f in source.schema.get("fields", []))
            schema = validate_schema(source.schema.get("name", ""), spec, self._limits)
            result = self._retriever.extract(retrieved.page, schema)
            data, completeness = result.data, result.completeness
        text = full_text[: self._settings.max_snapshot_text_chars]
        digest = hashlib.sha256()
        digest.update(full_text.encode("utf-8", errors="replace"))
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
        sha = digest.hexdigest()
        previous = await self._store.latest_snapshot(source.tenant, source.source_id)
        return Snapshot(
            tenant=source.tenant,
            source_id=source.source_id,
            url=source.url,
            version=(previous.version + 1) if previous else 1,
            fetched_at=retrieved.outcome.fetched_at,
            status_code=retrieved.outcome.status,
            title=retriever.title(retrieved),
            text=text,
            data=data,
            completeness=completeness,
            content_sha256=sha,
            changed=previous is None or previous.content_sha256 != sha,
            injection=retriever.injection(retrieved),
        )

    async def list(self, tenant: str, page_size: int, page_token: str) -> tuple[list[Source], str]:
        """One page of the tenant's sources and the token of the next ("" at the end)."""
        size = min(page_size or self._settings.page_size, 1000)
        after = _untoken(page_token) if page_token else ""
        rows = await self._store.list_sources(tenant, after, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return rows, _token(rows[-1].source_id) if more and rows else ""

    async def snapshot(self, tenant: str, source_id: str) -> tuple[Snapshot, Source]:
        """The latest snapshot of one of the tenant's sources.

        Raises:
            NotFoundError: The tenant watches no such source.
            FailedPreconditionError: No refresh has succeeded yet.
        """
        source = await self._store.get_source(tenant, source_id)
        if source is None:
            raise NotFoundError(f"no watched source {source_id!r}", reason="SOURCE_NOT_FOUND")
        snap = await self._store.latest_snapshot(tenant, source_id)
        if snap is None:
            raise FailedPreconditionError(
                f"source {source_id!r} has no snapshot yet (last error: {source.last_error or 'none'})",
                reason="NO_SNAPSHOT_YET",
            )
        return snap, source

    def is_stale(self, snapshot: Snapshot, source: Source) -> bool:
        """Older than the period (plus jitter and one refresh deadline) allows."""
        allowed = source.refresh_interval_s * (1 + self._settings.jitter) + self._settings.refresh_timeout_s
        return self._clock.now() - snapshot.fetched_at > allowed

    async def unwatch(self, tenant: str, source_id: str) -> bool:
        """Stop watching; whether the source existed."""
        removed = await self._store.delete_source(tenant, source_id)
        if removed and self.on_change is not None:
            self.on_change()
        return removed

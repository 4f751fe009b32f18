"""The audit trail's hash chain: hashed records, sealing, and verification.

Layer: controller domain (pure). Each tenant's audit events form one chain:
`hash = sha256(prev_hash + "\\n" + canonical_json(record))`, where the record is
`hashed_record(event)` and `details` is itself canonical JSON. The hashing and the
chain walk live in `controller.audit_verifier`, the standalone script outsiders run
on an export (docs/audit.md), so the server and the outside verifier cannot
disagree. Editing, inserting or deleting any event breaks the chain at that point;
`verify_chain` names the first bad sequence. Deleting events at the end cannot be
seen from the chain alone: callers compare against the stored head, and the signed
heads (`controller.anchors`) let an outsider do the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from controller.audit_verifier import ChainLink, ChainVerdict, event_hash, verify_links
from controller.models import AuditEvent

__all__ = [
    "AuditDraft",
    "ChainVerdict",
    "canonical_json",
    "chain_hash",
    "hashed_record",
    "hashed_timestamp",
    "seal",
    "verify_chain",
]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace, UTF-8 kept: the form `details` is stored and hashed in.

    Values JSON cannot hold (datetimes, enums, ...) are written as their `str()`.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hashed_timestamp(at: datetime) -> str:
    """The form `at` is hashed in: UTC, microseconds, `+00:00` (e.g. 2025-06-01T12:00:00.000000+00:00)."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return utc.isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditDraft:
    """An audit event before the store gives it a sequence and seals it into the chain."""

    tenant: str
    task_id: str
    action: str
    actor: str
    trace_id: str
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)


def chain_hash(
    prev_hash: str,
    *,
    tenant: str,
    sequence: int,
    task_id: str,
    action: str,
    actor: str,
    trace_id: str,
    at: datetime,
    details_json: str,
) -> str:
    """The hex SHA-256 of one event, chained to the previous event's hash."""
    event = AuditEvent(tenant, sequence, task_id, action, actor, trace_id, at, details_json, prev_hash, "")
    return event_hash(prev_hash, hashed_record(event))


def hashed_record(event: AuditEvent) -> dict[str, Any]:
    """Exactly what is hashed for `event` (with its `prev_hash`): the export carries this object."""
    return {
        "tenant": event.tenant,
        "sequence": event.sequence,
        "task_id": event.task_id,
        "action": event.action,
        "actor": event.actor,
        "trace_id": event.trace_id,
        "at": hashed_timestamp(event.at),
        "details": event.details_json,
    }


def seal(draft: AuditDraft, sequence: int, prev_hash: str) -> AuditEvent:
    """Turn a draft into the chained event that follows (`sequence - 1`, `prev_hash`)."""
    event = AuditEvent(
        tenant=draft.tenant,
        sequence=sequence,
        task_id=draft.task_id,
        action=draft.action,
        actor=draft.actor,
        trace_id=draft.trace_id,
        at=draft.at,
        details_json=canonical_json(draft.details),
        prev_hash=prev_hash,
        hash="",
    )
    return replace(event, hash=event_hash(prev_hash, hashed_record(event)))


def verify_chain(events: Iterable[AuditEvent], *, head: tuple[int, str] | None = None) -> ChainVerdict:
    """Recompute a tenant's chain from its first event.

    Args:
        events: The tenant's events in sequence order.
        head: The (sequence, hash) the store recorded as the chain's head, if any;
            a mismatch reveals events deleted from, replaced at or added to the end.

    Returns:
        The verdict; `first_bad_sequence` is the first event that does not fit.
    """
    return verify_links((ChainLink(hashed_record(e), e.prev_hash, e.hash) for e in events), head=head)

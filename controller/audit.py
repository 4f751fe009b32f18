"""The audit trail's hash chain: canonical records, hashing, and verification.

Layer: controller domain (pure). Each tenant's audit events form one chain:
`hash = sha256(prev_hash || "\\n" || canonical(event))`, where canonical() is the
event's fields as JSON with sorted keys and no spaces and `details_json` is itself
canonical JSON. Editing, inserting or deleting any event breaks the chain at that
point; `verify_chain` names the first bad sequence. Deleting events at the end
cannot be seen from the chain alone: callers compare against the stored head (and
may anchor the head hash elsewhere, e.g. by exporting it regularly).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.models import AuditEvent

__all__ = ["AuditDraft", "ChainVerdict", "canonical_json", "chain_hash", "seal", "verify_chain"]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace, UTF-8 kept: the form that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _timestamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


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
    record = canonical_json(
        {
            "tenant": tenant,
            "sequence": sequence,
            "task_id": task_id,
            "action": action,
            "actor": actor,
            "trace_id": trace_id,
            "at": _timestamp(at),
            "details": details_json,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{record}".encode()).hexdigest()


def seal(draft: AuditDraft, sequence: int, prev_hash: str) -> AuditEvent:
    """Turn a draft into the chained event that follows (`sequence - 1`, `prev_hash`)."""
    details_json = canonical_json(draft.details)
    digest = chain_hash(
        prev_hash,
        tenant=draft.tenant,
        sequence=sequence,
        task_id=draft.task_id,
        action=draft.action,
        actor=draft.actor,
        trace_id=draft.trace_id,
        at=draft.at,
        details_json=details_json,
    )
    return AuditEvent(
        tenant=draft.tenant,
        sequence=sequence,
        task_id=draft.task_id,
        action=draft.action,
        actor=draft.actor,
        trace_id=draft.trace_id,
        at=draft.at,
        details_json=details_json,
        prev_hash=prev_hash,
        hash=digest,
    )


@dataclass(frozen=True)
class ChainVerdict:
    """Result of verifying one tenant's chain."""

    valid: bool
    events_checked: int
    first_bad_sequence: int = 0
    problem: str = ""
    head_hash: str = ""


def verify_chain(events: Iterable[AuditEvent], *, head: tuple[int, str] | None = None) -> ChainVerdict:
    """Recompute a tenant's chain from its first event.

    Args:
        events: The tenant's events in sequence order.
        head: The (sequence, hash) the store recorded as the chain's head, if any;
            a mismatch reveals events deleted from, replaced at or added to the end.

    Returns:
        The verdict; `first_bad_sequence` is the first event that does not fit.
    """
    prev_hash, expected_seq, checked = "", 1, 0
    hash_at_head = ""  # the hash of the event at the head's sequence ("" before the first event)
    for event in events:
        checked += 1
        if event.sequence != expected_seq:
            problem = "missing event(s)" if event.sequence > expected_seq else "duplicate or reordered event"
            return ChainVerdict(
                False, checked, expected_seq, f"{problem}: expected sequence {expected_seq}, found {event.sequence}"
            )
        if event.prev_hash != prev_hash:
            return ChainVerdict(False, checked, event.sequence, "prev_hash does not match the previous event's hash")
        recomputed = chain_hash(
            prev_hash,
            tenant=event.tenant,
            sequence=event.sequence,
            task_id=event.task_id,
            action=event.action,
            actor=event.actor,
            trace_id=event.trace_id,
            at=event.at,
            details_json=event.details_json,
        )
        if recomputed != event.hash:
            return ChainVerdict(False, checked, event.sequence, "event content does not match its hash (edited)")
        prev_hash, expected_seq = event.hash, expected_seq + 1
        if head is not None and event.sequence == head[0]:
            hash_at_head = event.hash
    if head is not None and head != (expected_seq - 1, prev_hash):
        return _head_mismatch(head, expected_seq - 1, hash_at_head, checked)
    return ChainVerdict(True, checked, head_hash=prev_hash)


def _head_mismatch(head: tuple[int, str], last: int, hash_at_head: str, checked: int) -> ChainVerdict:
    """The verdict for a chain that is sound in itself but ends elsewhere than the stored head."""
    head_sequence, head_hash = head
    if head_sequence > last:
        return ChainVerdict(
            False,
            checked,
            last + 1,
            f"chain ends at sequence {last} but the head says {head_sequence} (events deleted)",
        )
    if hash_at_head != head_hash:
        return ChainVerdict(
            False, checked, head_sequence, f"event {head_sequence} does not match the head's hash (replaced)"
        )
    return ChainVerdict(
        False, checked, head_sequence + 1, f"chain goes on past the head's sequence {head_sequence} (events inserted)"
    )

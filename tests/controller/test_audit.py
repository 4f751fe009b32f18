"""The audit hash chain without a store: canonical JSON, sealing, and every kind of tampering."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from controller.audit import AuditDraft, canonical_json, chain_hash, hashed_record, seal, verify_chain
from controller.models import AuditEvent

T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def _chain(n: int, tenant: str = "acme") -> list[AuditEvent]:
    events: list[AuditEvent] = []
    for i in range(1, n + 1):
        draft = AuditDraft(tenant, f"task-{i}", "task.step", "user:alice", "trace", T0 + timedelta(seconds=i), {"i": i})
        events.append(seal(draft, i, events[-1].hash if events else ""))
    return events


def _head(events: list[AuditEvent]) -> tuple[int, str]:
    return (events[-1].sequence, events[-1].hash) if events else (0, "")


def test_canonical_json_sorts_keys_drops_spaces_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é✓"}}) == '{"a":{"c":"é✓","d":[1,2]},"b":1}'
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1})
    assert canonical_json({"at": T0}) == '{"at":"2025-03-04 05:06:07.123456+00:00"}'


def test_seal_chains_each_event_to_the_previous_hash() -> None:
    first, second = _chain(2)
    assert (first.sequence, first.prev_hash) == (1, "")
    assert (second.sequence, second.prev_hash) == (2, first.hash)
    assert first.details_json == '{"i":1}'
    record = canonical_json(
        {
            "tenant": "acme",
            "sequence": 1,
            "task_id": "task-1",
            "action": "task.step",
            "actor": "user:alice",
            "trace_id": "trace",
            "at": "2025-03-04T05:06:08.123456+00:00",
            "details": '{"i":1}',
        }
    )
    assert first.hash == hashlib.sha256(f"\n{record}".encode()).hexdigest()


def test_the_hash_covers_every_field_and_the_previous_hash() -> None:
    event = _chain(1)[0]
    base = {
        "tenant": event.tenant,
        "sequence": event.sequence,
        "task_id": event.task_id,
        "action": event.action,
        "actor": event.actor,
        "trace_id": event.trace_id,
        "at": event.at,
        "details_json": event.details_json,
    }
    assert chain_hash("", **base) == event.hash  # type: ignore[arg-type]
    changed = {"tenant": "globex", "sequence": 2, "task_id": "t", "action": "x", "actor": "y", "trace_id": "z"}
    for key, value in [*changed.items(), ("at", event.at + timedelta(microseconds=1)), ("details_json", "{}")]:
        assert chain_hash("", **{**base, key: value}) != event.hash, key  # type: ignore[arg-type]
    assert chain_hash("0" * 64, **base) != event.hash  # type: ignore[arg-type]


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    # The text form is hashed, always in UTC ("+00:00"), as the store reads it back.
    draft = AuditDraft("acme", "", "a", "x", "", T0)
    shifted = replace(draft, at=T0.astimezone(timezone(timedelta(hours=2))))
    assert shifted.at == draft.at
    assert seal(draft, 1, "").hash == seal(shifted, 1, "").hash
    assert hashed_record(seal(shifted, 1, ""))["at"].endswith("+00:00")


def test_an_intact_chain_verifies_with_and_without_its_head() -> None:
    events = _chain(5)
    assert verify_chain(events) == verify_chain(events, head=_head(events))
    verdict = verify_chain(events, head=_head(events))
    assert verdict.valid and verdict.events_checked == 5 and verdict.head_hash == events[-1].hash
    assert verify_chain([], head=(0, "")).valid


def test_an_edited_event_is_named() -> None:
    events = _chain(5)
    events[2] = replace(events[2], details_json='{"i":99}')
    verdict = verify_chain(events)
    assert (verdict.valid, verdict.first_bad_sequence, verdict.events_checked) == (False, 3, 3)
    assert "edited" in verdict.problem


@pytest.mark.parametrize("field", ["tenant", "task_id", "action", "actor", "trace_id"])
def test_any_edited_field_is_caught(field: str) -> None:
    events = _chain(3)
    changes: dict[str, Any] = {field: "forged"}
    events[1] = replace(events[1], **changes)
    assert verify_chain(events).first_bad_sequence == 2


def test_an_edited_time_is_caught() -> None:
    events = _chain(3)
    events[1] = replace(events[1], at=events[1].at + timedelta(microseconds=1))
    assert verify_chain(events).first_bad_sequence == 2


def test_a_deleted_event_in_the_middle_is_named() -> None:
    events = _chain(5)
    del events[2]
    verdict = verify_chain(events)
    assert (verdict.valid, verdict.first_bad_sequence) == (False, 3) and "missing" in verdict.problem


def test_duplicated_or_reordered_events_are_caught() -> None:
    events = _chain(4)
    assert verify_chain([*events[:2], events[1], *events[2:]]).first_bad_sequence == 3
    verdict = verify_chain([events[0], events[2], events[1], events[3]])
    assert (verdict.valid, verdict.first_bad_sequence) == (False, 2)


def test_a_rehashed_forgery_breaks_the_link_to_the_next_event() -> None:
    events = _chain(5)
    forged_draft = AuditDraft("acme", "task-3", "task.deleted", "mallory", "trace", events[2].at, {"i": 3})
    events[2] = seal(forged_draft, 3, events[1].hash)
    verdict = verify_chain(events)
    assert (verdict.valid, verdict.first_bad_sequence) == (False, 4) and "prev_hash" in verdict.problem


def test_events_deleted_from_the_end_are_caught_only_by_the_head() -> None:
    events = _chain(5)
    head = _head(events)
    assert verify_chain(events[:3]).valid
    verdict = verify_chain(events[:3], head=head)
    assert (verdict.valid, verdict.first_bad_sequence) == (False, 4) and "deleted" in verdict.problem
    assert verify_chain([], head=head).first_bad_sequence == 1


def test_events_appended_past_the_head_are_named() -> None:
    events = _chain(6)
    verdict = verify_chain(events, head=_head(events[:4]))
    assert (verdict.valid, verdict.first_bad_sequence) == (False, 5) and "inserted" in verdict.problem
    assert verify_chain(events, head=(0, "")).first_bad_sequence == 1


def test_a_rehashed_last_event_is_caught_by_the_head() -> None:
    events = _chain(4)
    head = _head(events)
    forged_draft = AuditDraft("acme", "task-4", "task.deleted", "mallory", "trace", events[3].at, {})
    events[3] = seal(forged_draft, 4, events[2].hash)
    assert verify_chain(events).valid
    verdict = verify_chain(events, head=head)
    assert (verdict.valid, verdict.first_bad_sequence) == (False, 4) and "replaced" in verdict.problem

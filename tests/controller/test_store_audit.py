"""The audit trail as stored, on both backends: sealing, identical hashes, and tampering caught end to end."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from controller.audit import AuditDraft, chain_hash, seal, verify_chain
from controller.models import AuditEvent
from controller.store import Store
from tests.controller import factories as f
from tests.controller.conftest import RawSql


def _expected_chain(drafts: list[AuditDraft]) -> list[AuditEvent]:
    """What any store must produce for `drafts` on empty chains: the pure seal() result."""
    heads: dict[str, tuple[int, str]] = {}
    out = []
    for d in drafts:
        seq, prev = heads.get(d.tenant, (0, ""))
        event = seal(d, seq + 1, prev)
        heads[d.tenant] = (event.sequence, event.hash)
        out.append(event)
    return out


async def test_appended_events_are_sealed_exactly_as_the_pure_chain(store: Store) -> None:
    drafts = [
        f.draft(action="login"),
        f.draft(tenant="globex", action="login"),
        f.draft(action="task.created", size=3, nested={"b": [1, 2], "a": "é"}),
        f.draft(action="task.completed", score=0.75),
    ]
    stored = await store.append_audit(drafts)
    assert stored == _expected_chain(drafts)
    assert await store.audit_events("acme") == [stored[0], stored[2], stored[3]]
    assert await store.audit_events("globex") == [stored[1]]
    assert await store.audit_head("acme") == (3, stored[3].hash)
    assert await store.append_audit([]) == []


async def test_audit_events_filter_by_task_and_page(store: Store) -> None:
    a, b = f.task(), f.task()
    await store.create_task(a, audit=[f.draft(a, "created")])
    await store.create_task(b, audit=[f.draft(b, "created")])
    await store.save_task(a, audit=[f.draft(a, "ran"), f.draft(a, "done")])
    assert [e.sequence for e in await store.audit_events("acme", task_id=a.task_id)] == [1, 3, 4]
    assert [e.sequence for e in await store.audit_events("acme", task_id=a.task_id, after_sequence=1, limit=1)] == [3]
    assert [e.sequence for e in await store.audit_events("acme", after_sequence=2)] == [3, 4]


async def test_times_in_other_zones_are_sealed_in_utc_so_the_chain_verifies_after_reading(store: Store) -> None:
    at = datetime(2025, 1, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5)))
    naive = datetime(2025, 1, 1, 17, 0, 0, 2)
    stored = await store.append_audit([AuditDraft("acme", "", "a", "x", "", at), f.draft(action="b")])
    stored += await store.append_audit([AuditDraft("acme", "", "naive", "x", "", naive)])
    read = await store.audit_events("acme")
    assert read == stored
    assert read[0].at == at and read[0].at.utcoffset() == timedelta(0)
    assert verify_chain(read, head=await store.audit_head("acme")).valid


async def _chain_of_five(store: Store) -> list[AuditEvent]:
    task = f.task()
    await store.create_task(task, audit=[f.draft(task, "created")])
    await store.save_task(task, audit=[f.draft(task, f"step-{i}", i=i) for i in range(4)])
    await store.append_audit([f.draft(tenant="globex", action="other tenant")])
    events = await store.audit_events("acme")
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    return events


async def _verdict(store: Store) -> tuple[bool, int, str]:
    verdict = verify_chain(await store.audit_events("acme"), head=await store.audit_head("acme"))
    return verdict.valid, verdict.first_bad_sequence, verdict.problem


_COPY_ROW = (
    "INSERT INTO audit_events (tenant, sequence, task_id, action, actor, trace_id, at, details_json, prev_hash, hash)"
    " SELECT tenant, $1, task_id, $2, actor, trace_id, at, details_json, $3, $4"
    " FROM audit_events WHERE tenant = 'acme' AND sequence = $5"
)


def _forged_hash(source: AuditEvent, sequence: int, action: str, prev_hash: str) -> str:
    return chain_hash(
        prev_hash,
        tenant=source.tenant,
        sequence=sequence,
        task_id=source.task_id,
        action=action,
        actor=source.actor,
        trace_id=source.trace_id,
        at=source.at,
        details_json=source.details_json,
    )


async def test_an_untouched_chain_verifies(store: Store) -> None:
    await _chain_of_five(store)
    assert await _verdict(store) == (True, 0, "")


async def test_an_edited_row_is_caught_at_its_sequence(store: Store, raw_sql: RawSql) -> None:
    await _chain_of_five(store)
    await raw_sql("UPDATE audit_events SET details_json = $1 WHERE tenant = 'acme' AND sequence = 3", '{"i":99}')
    valid, bad, problem = await _verdict(store)
    assert (valid, bad) == (False, 3) and "edited" in problem


async def test_a_row_deleted_in_the_middle_is_caught(store: Store, raw_sql: RawSql) -> None:
    await _chain_of_five(store)
    await raw_sql("DELETE FROM audit_events WHERE tenant = 'acme' AND sequence = 3")
    valid, bad, problem = await _verdict(store)
    assert (valid, bad) == (False, 3) and "missing" in problem


async def test_a_forged_row_in_place_of_a_real_one_is_caught_at_the_next(store: Store, raw_sql: RawSql) -> None:
    events = await _chain_of_five(store)
    await raw_sql("DELETE FROM audit_events WHERE tenant = 'acme' AND sequence = 3")
    forged = _forged_hash(events[1], 3, "forged", events[1].hash)  # self-consistent, but not what 4 chained to
    await raw_sql(_COPY_ROW, 3, "forged", events[1].hash, forged, 2)
    valid, bad, problem = await _verdict(store)
    assert (valid, bad) == (False, 4) and "prev_hash" in problem


async def test_a_forged_row_with_a_made_up_hash_is_caught(store: Store, raw_sql: RawSql) -> None:
    events = await _chain_of_five(store)
    await raw_sql(_COPY_ROW, 6, "forged", events[4].hash, "f" * 64, 5)
    valid, bad, problem = await _verdict(store)
    assert (valid, bad) == (False, 6) and "edited" in problem


async def test_a_forged_row_appended_with_a_correct_hash_is_caught_by_the_head(store: Store, raw_sql: RawSql) -> None:
    events = await _chain_of_five(store)
    await raw_sql(_COPY_ROW, 6, "forged", events[4].hash, _forged_hash(events[4], 6, "forged", events[4].hash), 5)
    valid, bad, problem = await _verdict(store)
    assert (valid, bad) == (False, 6) and "inserted" in problem


async def test_deleting_the_last_row_is_caught_by_the_head(store: Store, raw_sql: RawSql) -> None:
    await _chain_of_five(store)
    await raw_sql("DELETE FROM audit_events WHERE tenant = 'acme' AND sequence = 5")
    valid, bad, problem = await _verdict(store)
    assert (valid, bad) == (False, 5) and "deleted" in problem
    # The other tenant's chain is untouched.
    assert verify_chain(await store.audit_events("globex"), head=await store.audit_head("globex")).valid


@pytest.mark.parametrize("limit", [1, 2, 1000])
async def test_paged_reads_concatenate_to_the_whole_chain(store: Store, limit: int) -> None:
    events = await _chain_of_five(store)
    paged: list[AuditEvent] = []
    while page := await store.audit_events("acme", after_sequence=paged[-1].sequence if paged else 0, limit=limit):
        paged += page
    assert paged == events

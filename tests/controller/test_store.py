"""The controller store on both backends: round trips, idempotency, isolation, CAS, concurrency, queries."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, timedelta

import pytest

from agentplane.errors import UnavailableError
from controller.audit import verify_chain
from controller.models import EventType, ReviewState, TaskState
from controller.store import Snapshot, Store, StoreConflictError, open_store
from tests.controller import factories as f
from tests.controller.conftest import StoreHost


async def test_every_field_round_trips(store: Store) -> None:
    task = f.full_task()
    events = [f.event(task, 1, EventType.RECEIVED), f.event(task, 2, EventType.ANALYSED, route="AGENT", n=[1, 2])]
    stored, created = await store.create_task(task, events=events, audit=[f.draft(task, size=3)])
    assert created and stored == task

    got = await store.get_task("acme", task.task_id)
    assert got == task
    assert got is not None and got.completed_at is not None
    assert got.completed_at.tzinfo == UTC and got.completed_at == task.completed_at
    assert got.created_at.tzinfo == UTC and got.created_at.microsecond == 123456
    assert await store.task_events("acme", task.task_id) == events
    assert await store.task_events("acme", task.task_id, after_sequence=1) == events[1:]

    review = f.review(task, resolved_at=f.T0 + timedelta(minutes=5), reviewer="bob", comment="ok", final_answer="yes")
    await store.save_task(task, review=review)
    assert await store.get_review("acme", review.review_id) == review
    bare = f.review(task, route=None, confidence=None)
    await store.save_task(task, review=bare)
    assert await store.get_review("acme", bare.review_id) == bare


async def test_save_replaces_the_task_and_appends(store: Store) -> None:
    task = f.task()
    await store.create_task(task, events=[f.event(task, 1)], audit=[f.draft(task)])
    running = task.evolve(state=TaskState.RUNNING, attempts=1)
    await store.save_task(
        running, expect_state=TaskState.RECEIVED, events=[f.event(task, 2)], audit=[f.draft(task, "run")]
    )
    done = f.full_task()
    done = replace(done, task_id=task.task_id, idempotency_key="", state=TaskState.COMPLETED)
    await store.save_task(done, expect_state=TaskState.RUNNING, events=[f.event(task, 3, EventType.COMPLETED)])

    assert await store.get_task("acme", task.task_id) == done
    assert [e.sequence for e in await store.task_events("acme", task.task_id)] == [1, 2, 3]
    assert [a.action for a in await store.audit_events("acme")] == ["task.created", "run"]


async def test_same_idempotency_key_returns_the_first_task_and_writes_nothing(store: Store) -> None:
    first = f.task(idempotency_key="submit-1")
    await store.create_task(first, events=[f.event(first, 1)], audit=[f.draft(first)])
    retry = f.task(idempotency_key="submit-1", text="a retry with another id")
    stored, created = await store.create_task(retry, events=[f.event(retry, 1)], audit=[f.draft(retry)])

    assert not created and stored == first
    assert await store.get_task("acme", retry.task_id) is None
    assert await store.task_events("acme", retry.task_id) == []
    assert len(await store.audit_events("acme")) == 1
    assert (await store.audit_head("acme"))[0] == 1
    # The key is scoped to the tenant; empty keys never collide.
    other, created_other = await store.create_task(f.task("globex", idempotency_key="submit-1"))
    assert created_other and other.tenant == "globex"
    assert all([(await store.create_task(f.task(idempotency_key="")))[1] for _ in range(2)])


async def test_concurrent_submissions_with_one_key_create_one_task(store: Store) -> None:
    tasks = [f.task(idempotency_key="dup") for _ in range(20)]
    results = await asyncio.gather(*(store.create_task(t, audit=[f.draft(t)]) for t in tasks))
    assert sum(created for _, created in results) == 1
    assert len({stored.task_id for stored, _ in results}) == 1
    assert len(await store.audit_events("acme")) == 1


async def test_reusing_a_task_id_is_a_conflict(store: Store) -> None:
    task = f.task()
    await store.create_task(task)
    with pytest.raises(StoreConflictError):
        await store.create_task(f.task("globex", task_id=task.task_id), audit=[f.draft(tenant="globex")])
    assert await store.get_task("globex", task.task_id) is None
    assert await store.audit_head("globex") == (0, "")


async def test_tenants_never_see_each_other(store: Store) -> None:
    task = f.task("acme")
    review = f.review(task)
    await store.create_task(task, events=[f.event(task, 1)], audit=[f.draft(task)])
    await store.save_task(task, review=review)
    await store.put_snapshot(Snapshot("acme", "https://example.test/a", f.T0, {"price": 1}))

    assert await store.get_task("globex", task.task_id) is None
    assert await store.task_events("globex", task.task_id) == []
    assert await store.get_review("globex", review.review_id) is None
    assert await store.list_reviews("globex", None, 10) == []
    assert await store.audit_events("globex") == []
    assert await store.audit_events("globex", task_id=task.task_id) == []
    assert await store.audit_head("globex") == (0, "")
    assert await store.get_snapshot("globex", "https://example.test/a") is None
    assert await store.session_tasks("globex", task.session_id, 10) == []
    # globex cannot take over acme's task or review by id either.
    with pytest.raises(StoreConflictError):
        await store.save_task(replace(task, tenant="globex", state=TaskState.CANCELLED))
    globex_task = f.task("globex")
    await store.create_task(globex_task)
    with pytest.raises(StoreConflictError):
        await store.save_task(globex_task, review=replace(review, tenant="globex", task_id=globex_task.task_id))
    assert await store.get_task("acme", task.task_id) == task
    assert await store.get_review("acme", review.review_id) == review


async def _state_of(store: Store, tenant: str, task_id: str) -> tuple[object, ...]:
    return (
        await store.get_task(tenant, task_id),
        await store.task_events(tenant, task_id),
        await store.audit_events(tenant),
        await store.audit_head(tenant),
        await store.list_reviews(tenant, None, 100),
    )


async def test_failed_compare_and_set_writes_nothing(store: Store) -> None:
    task = f.task()
    review = f.review(task)
    await store.create_task(task, events=[f.event(task, 1)], audit=[f.draft(task)])
    running = task.evolve(state=TaskState.RUNNING)
    await store.save_task(running, expect_state=TaskState.RECEIVED, review=review, audit=[f.draft(task, "run")])
    before = await _state_of(store, "acme", task.task_id)

    stale = task.evolve(state=TaskState.COMPLETED, error="late")
    with pytest.raises(StoreConflictError, match="is RUNNING, expected RECEIVED"):
        await store.save_task(
            stale,
            expect_state=TaskState.RECEIVED,
            events=[f.event(task, 2)],
            audit=[f.draft(task, "complete")],
            review=replace(review, state=ReviewState.APPROVED),
        )
    with pytest.raises(StoreConflictError, match="is PENDING, expected APPROVED"):
        await store.save_task(
            stale,
            expect_state=TaskState.RUNNING,
            events=[f.event(task, 2)],
            audit=[f.draft(task, "approve")],
            review=replace(review, state=ReviewState.REJECTED),
            expect_review_state=ReviewState.APPROVED,
        )
    with pytest.raises(StoreConflictError):  # event sequence 1 is taken
        await store.save_task(stale, expect_state=TaskState.RUNNING, events=[f.event(task, 1)], audit=[f.draft(task)])
    with pytest.raises(StoreConflictError, match="does not exist"):
        await store.save_task(f.task(), audit=[f.draft(task)])
    assert await _state_of(store, "acme", task.task_id) == before

    await store.save_task(
        stale,
        expect_state=TaskState.RUNNING,
        review=replace(review, state=ReviewState.APPROVED),
        expect_review_state=ReviewState.PENDING,
    )
    assert await store.get_task("acme", task.task_id) == stale
    stored_review = await store.get_review("acme", review.review_id)
    assert stored_review is not None and stored_review.state is ReviewState.APPROVED


async def test_only_one_of_two_racing_transitions_wins(store: Store) -> None:
    task = f.task()
    await store.create_task(task)
    moves = [task.evolve(state=TaskState.RUNNING, error=str(i)) for i in range(10)]
    results = await asyncio.gather(
        *(
            store.save_task(m, expect_state=TaskState.RECEIVED, audit=[f.draft(task, str(i))])
            for i, m in enumerate(moves)
        ),
        return_exceptions=True,
    )
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1
    assert all(isinstance(r, StoreConflictError) for r in results if r is not None)
    stored = await store.get_task("acme", task.task_id)
    assert stored is not None and stored.error == str(winners[0])
    assert [a.action for a in await store.audit_events("acme")] == [str(winners[0])]


async def test_500_concurrent_creates_are_all_stored_on_a_gapless_chain(store: Store) -> None:
    tasks = [f.task("acme" if i % 3 else "globex") for i in range(500)]
    results = await asyncio.gather(
        *(store.create_task(t, events=[f.event(t, 1)], audit=[f.draft(t), f.draft(t, "queued")]) for t in tasks)
    )
    assert all(created for _, created in results)
    for t in tasks[:50]:
        assert await store.get_task(t.tenant, t.task_id) == t
    for tenant in ("acme", "globex"):
        events = await store.audit_events(tenant, limit=10_000)
        count = 2 * sum(t.tenant == tenant for t in tasks)
        assert [e.sequence for e in events] == list(range(1, count + 1))
        head = await store.audit_head(tenant)
        verdict = verify_chain(events, head=head)
        assert verdict.valid, verdict.problem
        assert head == (count, events[-1].hash)
    assert len(await store.unfinished_tasks()) == 500


async def test_session_tasks_are_the_latest_oldest_first(store: Store) -> None:
    session = [f.task(session_id="s1", at=f.T0 + timedelta(seconds=i)) for i in range(6)]
    for t in reversed(session):
        await store.create_task(t)
    await store.create_task(f.task(session_id="s2", at=f.T0 + timedelta(seconds=10)))
    await store.create_task(f.task("globex", session_id="s1", at=f.T0 + timedelta(seconds=10)))

    assert [t.task_id for t in await store.session_tasks("acme", "s1", 3)] == [t.task_id for t in session[3:]]
    assert [t.task_id for t in await store.session_tasks("acme", "s1", 100)] == [t.task_id for t in session]
    assert await store.session_tasks("acme", "s1", 0) == []
    with pytest.raises(ValueError, match="limit"):
        await store.session_tasks("acme", "s1", -1)


async def test_unfinished_tasks_are_received_or_running_of_every_tenant_oldest_first(store: Store) -> None:
    states = [TaskState.RUNNING, TaskState.COMPLETED, TaskState.RECEIVED, TaskState.NEEDS_REVIEW, TaskState.FAILED]
    tasks = [
        f.task("acme" if i % 2 else "globex", state=s, at=f.T0 - timedelta(minutes=i)) for i, s in enumerate(states)
    ]
    for t in tasks:
        await store.create_task(t)
    assert [t.task_id for t in await store.unfinished_tasks()] == [tasks[2].task_id, tasks[0].task_id]


async def test_expired_reviews_are_pending_and_due_of_every_tenant(store: Store) -> None:
    reviews = []
    for i, (tenant, state, minutes) in enumerate(
        [
            ("acme", ReviewState.PENDING, -5),
            ("globex", ReviewState.PENDING, -10),
            ("acme", ReviewState.APPROVED, -20),
            ("acme", ReviewState.PENDING, 0),
            ("acme", ReviewState.PENDING, 5),
        ]
    ):
        t = f.task(tenant, task_id=f"task-{i}")
        await store.create_task(t)
        reviews.append(f.review(t, state=state, expires_at=f.T0 + timedelta(minutes=minutes)))
        await store.save_task(t, review=reviews[-1])

    due = await store.expired_reviews(f.T0, 10)
    assert [r.review_id for r in due] == [reviews[1].review_id, reviews[0].review_id, reviews[3].review_id]
    assert len(await store.expired_reviews(f.T0, 2)) == 2


async def test_list_reviews_pages_by_review_id_and_filters_by_state(store: Store) -> None:
    task = f.task()
    await store.create_task(task)
    for i in range(5):
        state = ReviewState.PENDING if i % 2 == 0 else ReviewState.REJECTED
        await store.save_task(task, review=f.review(task, review_id=f"r{i}", state=state))
    page1 = await store.list_reviews("acme", None, 2)
    page2 = await store.list_reviews("acme", None, 2, after_review_id=page1[-1].review_id)
    assert [r.review_id for r in page1 + page2] == ["r0", "r1", "r2", "r3"]
    pending = await store.list_reviews("acme", ReviewState.PENDING, 10)
    assert [r.review_id for r in pending] == ["r0", "r2", "r4"]
    assert [r.review_id for r in await store.list_reviews("acme", ReviewState.PENDING, 10, "r0")] == ["r2", "r4"]


async def test_snapshots_are_upserted_per_tenant_and_url(store: Store) -> None:
    url = "https://example.test/prices"
    await store.put_snapshot(Snapshot("acme", url, f.T0, {"price": 1.5, "tags": ["a"]}))
    await store.put_snapshot(Snapshot("globex", url, f.T0, {"price": 9}))
    newer = Snapshot("acme", url, f.T0 + timedelta(seconds=30), {"price": 2.0, "tags": []})
    await store.put_snapshot(newer)
    assert await store.get_snapshot("acme", url) == newer
    assert await store.get_snapshot("globex", url) == Snapshot("globex", url, f.T0, {"price": 9})
    assert await store.get_snapshot("acme", url + "?other") is None


async def test_data_survives_closing_and_reopening(store_host: StoreHost) -> None:
    first = open_store(store_host)
    await first.open()
    task = f.full_task()
    await first.create_task(task, events=[f.event(task, 1)], audit=[f.draft(task)])
    await first.aclose()

    second = open_store(store_host)
    await second.open()
    await second.open()  # idempotent
    try:
        assert await second.get_task("acme", task.task_id) == task
        await second.append_audit([f.draft(task, "reopened")])
        events = await second.audit_events("acme")
        assert [e.sequence for e in events] == [1, 2]
        assert verify_chain(events, head=await second.audit_head("acme")).valid
    finally:
        await second.aclose()
        await second.aclose()  # idempotent


async def test_a_closed_store_refuses_calls_with_unavailable(store_host: StoreHost) -> None:
    closed = open_store(store_host)
    with pytest.raises(UnavailableError, match="not open"):
        await closed.get_task("acme", "x")
    await closed.open()
    await closed.aclose()
    with pytest.raises(UnavailableError, match="not open"):
        await closed.create_task(f.task())


async def test_bad_input_is_refused_before_anything_is_written(store: Store) -> None:
    task, other = f.task(), f.task()
    with pytest.raises(ValueError, match="belongs to task"):
        await store.create_task(task, events=[f.event(other, 1)], audit=[f.draft(task)])
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        await store.create_task(task, events=[f.event(task, 1, score=float("nan"))])
    assert await store.get_task("acme", task.task_id) is None
    await store.create_task(task)
    with pytest.raises(ValueError, match="belongs to another task"):
        await store.save_task(task, review=f.review(other))
    with pytest.raises(ValueError, match="needs the review"):
        await store.save_task(task, expect_review_state=ReviewState.PENDING)
    assert await store.audit_head("acme") == (0, "")

"""Reviewer sessions: expiry (absolute and idle), sign-out, bounded size."""

from __future__ import annotations

from console.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _store(clock: Clock, max_sessions: int = 10) -> SessionStore:
    return SessionStore(ttl_s=3600, idle_s=600, max_sessions=max_sessions, clock=clock)


def test_a_session_ends_after_its_idle_time_and_says_it_expired():
    clock = Clock()
    store = _store(clock)
    token, session = store.create("key-1", "acme-reviewer", "acme", frozenset({"reviewer"}))
    clock.now += 599
    assert store.lookup(token).session is session  # activity restarts the idle clock
    clock.now += 599
    assert store.lookup(token).session is session
    clock.now += 601
    found = store.lookup(token)
    assert found.session is None and found.ended == "expired" and found.ended_at is not None
    assert store.lookup(token).ended == "expired"  # still explained on the next visit


def test_a_session_ends_at_its_absolute_lifetime_even_when_active():
    clock = Clock()
    store = _store(clock)
    token, _ = store.create("key-1", "r", "acme", frozenset())
    for _ in range(7):
        clock.now += 500
        assert store.lookup(token).session is not None
    clock.now += 500  # 4000 s after sign-in > ttl 3600 s
    assert store.lookup(token).ended == "expired"


def test_background_checks_do_not_keep_a_session_alive():
    clock = Clock()
    store = _store(clock)
    token, _ = store.create("key-1", "r", "acme", frozenset())
    for _ in range(2):
        clock.now += 250
        assert store.lookup(token, touch=False).session is not None
    clock.now += 200  # 700 s since sign-in: the checks did not count as activity
    assert store.lookup(token, touch=False).session is None


def test_signing_out_forgets_the_key_and_unknown_tokens_are_told_apart():
    clock = Clock()
    store = _store(clock)
    token, _ = store.create("key-1", "r", "acme", frozenset())
    store.end(token)
    assert store.lookup(token).ended == "unknown" and len(store) == 0
    assert store.lookup(None).ended == "" and store.lookup("made-up").ended == "unknown"


def test_tokens_are_random_and_the_table_is_bounded():
    clock = Clock()
    store = _store(clock, max_sessions=3)
    tokens = [store.create(f"key-{i}", "r", "acme", frozenset())[0] for i in range(5)]
    assert len(set(tokens)) == 5 and all(len(t) >= 40 for t in tokens)
    assert len(store) == 3
    assert store.lookup(tokens[0]).session is None and store.lookup(tokens[4]).session is not None


def test_sweep_ends_overdue_sessions():
    clock = Clock()
    store = _store(clock)
    old, _ = store.create("key-1", "r", "acme", frozenset())
    clock.now += 500
    fresh, _ = store.create("key-2", "r", "acme", frozenset())
    clock.now += 200
    assert store.sweep() == 1
    assert store.lookup(old).ended == "expired" and store.lookup(fresh).session is not None

"""Reviewer sessions: an API key exchanged once for a random session token.

Layer: console domain (no HTTP). The browser holds only the token (an HttpOnly
cookie); the API key stays in this process's memory and is forgotten at sign-out or
expiry. Tokens are looked up by their SHA-256, so the table never holds a usable
cookie. A session ends `ttl_s` after sign-in or `idle_s` after its last request,
whichever comes first; an ended session is remembered for a while so the reviewer
is told it *expired* rather than that it never existed. The console keeps sessions
in memory: restarting it signs everyone out.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Lookup", "Session", "SessionStore"]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Session:
    """A signed-in reviewer."""

    api_key: str = field(repr=False)
    name: str
    tenant: str
    roles: frozenset[str]
    csrf_token: str = field(repr=False)
    expires_at: float
    """Absolute end (clock seconds)."""
    last_seen: float
    signed_in_at: datetime


@dataclass(frozen=True)
class Lookup:
    """The session a token names, or why there is none."""

    session: Session | None
    ended: str = ""
    """"expired" (ran out), "unknown" (signed out, replaced, or the console restarted) or ""."""
    ended_at: datetime | None = None


class SessionStore:
    """In-memory sessions with absolute and idle expiry.

    Args:
        ttl_s: Lifetime from sign-in.
        idle_s: Lifetime from the last request.
        max_sessions: Held at once; the least recently used is ended to make room.
        clock: Seconds, monotonic (injectable for tests).
    """

    def __init__(
        self, ttl_s: float, idle_s: float, max_sessions: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl_s = ttl_s
        self._idle_s = idle_s
        self._max = max_sessions
        self._clock = clock
        self._live: OrderedDict[str, Session] = OrderedDict()
        # Digest -> wall time it expired; bounded like the live table.
        self._expired: OrderedDict[str, datetime] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live)

    def create(self, api_key: str, name: str, tenant: str, roles: frozenset[str]) -> tuple[str, Session]:
        """Start a session; return the token for the cookie and the session."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(
            api_key=api_key,
            name=name,
            tenant=tenant,
            roles=roles,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + self._ttl_s,
            last_seen=now,
            signed_in_at=datetime.now(UTC),
        )
        self._live[_digest(token)] = session
        while len(self._live) > self._max:
            self._live.popitem(last=False)
        return token, session

    def lookup(self, token: str | None, *, touch: bool = True) -> Lookup:
        """The live session of `token`, or why there is none.

        Args:
            token: The session cookie's value.
            touch: Restart the session's idle clock (False for background checks,
                such as an open event stream, that are not the reviewer's activity).
        """
        if not token:
            return Lookup(None)
        digest = _digest(token)
        session = self._live.get(digest)
        now = self._clock()
        if session is None:
            ended = self._expired.get(digest)
            return Lookup(None, "expired", ended) if ended else Lookup(None, "unknown")
        end = min(session.expires_at, session.last_seen + self._idle_s)
        if now >= end:
            del self._live[digest]
            ended_at = datetime.now(UTC)
            self._expired[digest] = ended_at
            while len(self._expired) > self._max:
                self._expired.popitem(last=False)
            return Lookup(None, "expired", ended_at)
        if touch:
            session.last_seen = now
            self._live.move_to_end(digest)
        return Lookup(session)

    def end(self, token: str | None) -> None:
        """Sign out: forget the session (and its key) now."""
        if token:
            self._live.pop(_digest(token), None)

    def sweep(self) -> int:
        """End every session past its expiry; return how many."""
        now = self._clock()
        over = [d for d, s in self._live.items() if now >= min(s.expires_at, s.last_seen + self._idle_s)]
        for digest in over:
            del self._live[digest]
            self._expired[digest] = datetime.now(UTC)
        while len(self._expired) > self._max:
            self._expired.popitem(last=False)
        return len(over)

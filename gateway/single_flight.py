"""Single-flight: identical concurrent requests share one upstream call.

Layer: domain. The first caller for a key (the leader) runs the call in its own
task; callers that arrive while it runs (followers) await the same outcome, error
included. The call is not cancelled when one caller goes away, only when every
caller did, so a leader that disconnects never fails the followers.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


@dataclass(slots=True)
class _Flight(Generic[T]):
    task: asyncio.Task[T]
    callers: int = 1
    followers: int = 0


class SingleFlight(Generic[T]):
    """Deduplicates concurrent calls by key.

    Args:
        on_join: Called with (key, followers so far) whenever a follower joins a flight
            (metrics and tests observe sharing through it).
    """

    def __init__(self, on_join: Callable[[str, int], None] | None = None) -> None:
        self._flights: dict[str, _Flight[T]] = {}
        self.on_join = on_join

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: str, call: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Run `call` once for every concurrent caller with the same key.

        Returns:
            The result and whether this caller was a follower (shared a flight).

        Raises:
            Exception: Whatever the shared call raised.
        """
        flight = self._flights.get(key)
        follower = flight is not None
        if flight is None:
            flight = _Flight(asyncio.ensure_future(call()))
            self._flights[key] = flight
            flight.task.add_done_callback(functools.partial(self._forget, key, flight))
        else:
            flight.callers += 1
            flight.followers += 1
            if self.on_join is not None:
                self.on_join(key, flight.followers)
        try:
            return await asyncio.shield(flight.task), follower
        except asyncio.CancelledError:
            if not flight.task.done():
                flight.callers -= 1
                if flight.callers == 0:
                    flight.task.cancel()
            raise

    def _forget(self, key: str, flight: _Flight[T], _task: asyncio.Task[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.task.cancelled():
            flight.task.exception()  # mark retrieved: followers may all have gone

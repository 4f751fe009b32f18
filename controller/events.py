"""In-process publication of task events to StreamTask subscribers and waiters.

Layer: controller domain. Events are persisted by the store first (for replay after
a reconnect or a restart); the bus then wakes live subscribers in this process.
Subscribers get bounded queues: a subscriber that cannot keep up loses live events
(it can replay them from the store) instead of holding memory without bound.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from controller.models import TaskEvent

__all__ = ["EventBus"]


class EventBus:
    """Fan-out of task events by task id."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[TaskEvent]]] = defaultdict(set)

    @contextmanager
    def subscribe(self, task_id: str) -> Iterator[asyncio.Queue[TaskEvent]]:
        """A queue receiving the task's events published while the block runs."""
        queue: asyncio.Queue[TaskEvent] = asyncio.Queue(self._queue_size)
        self._subscribers[task_id].add(queue)
        try:
            yield queue
        finally:
            subs = self._subscribers.get(task_id)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self._subscribers[task_id]

    def publish(self, event: TaskEvent) -> None:
        """Deliver to every current subscriber of the event's task (never blocks)."""
        for queue in self._subscribers.get(event.task_id, ()):
            if not queue.full():
                queue.put_nowait(event)

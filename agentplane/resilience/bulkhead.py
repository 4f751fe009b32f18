"""Bulkhead: bounded concurrency per dependency, with a bounded, deadline-aware queue.

Layer: shared core, domain level. Keeps one slow dependency from taking every
worker: at most `max_concurrent` calls run, at most `max_queued` wait, and a
waiter gives up when the current call's deadline comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agentplane import request_context
from agentplane.errors import DeadlineExceededError, ResourceExhaustedError

__all__ = ["Bulkhead"]


class Bulkhead:
    """Limits concurrent calls to one dependency.

    Args:
        name: Dependency name, used in errors.
        max_concurrent: Calls running at once.
        max_queued: Calls waiting at once; more are refused immediately.
    """

    def __init__(self, name: str, max_concurrent: int, max_queued: int = 0) -> None:
        self.name = name
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self._sem = asyncio.Semaphore(max_concurrent)
        self._waiting = 0

    @property
    def in_use(self) -> int:
        """Slots taken now."""
        return self.max_concurrent - self._sem._value

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the enclosed block.

        Raises:
            ResourceExhaustedError: Every slot is taken and the queue is full.
            DeadlineExceededError: The call's deadline came while queued.
        """
        if self._sem.locked():
            if self._waiting >= self.max_queued:
                raise ResourceExhaustedError(
                    f"{self.name} is at its concurrency limit ({self.max_concurrent}) with a full queue",
                    reason="BULKHEAD_FULL",
                    metadata={"subject": f"bulkhead:{self.name}"},
                    retry_after_s=0.05,
                )
            self._waiting += 1
            try:
                left = request_context.remaining_s()
                try:
                    await asyncio.wait_for(self._sem.acquire(), timeout=left)
                except TimeoutError:
                    raise DeadlineExceededError(
                        f"deadline passed while queued for {self.name}", reason="BULKHEAD_QUEUE_TIMEOUT"
                    ) from None
            finally:
                self._waiting -= 1
        else:
            await self._sem.acquire()
        try:
            yield
        finally:
            self._sem.release()

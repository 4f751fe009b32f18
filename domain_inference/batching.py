"""A micro-batcher: concurrent callers' items merged into one blocking model run.

Layer: domain (asyncio only, no I/R of its own). The in-process fallback uses it the way
Triton uses its dynamic batcher: the first waiting request opens a batch, requests that
arrive within `max_wait_s` (or until `max_items`) join it, and one call of `run_batch` in
a worker thread serves them all. A request's items always stay in one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agentplane.errors import UnavailableError

__all__ = ["BatcherStats", "MicroBatcher"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class BatcherStats:
    """Counters of one batcher (cumulative since start).

    Attributes:
        requests: Submissions served.
        items: Items served.
        batches: Runs of the model (items / batches is the mean batch size).
    """

    requests: int = 0
    items: int = 0
    batches: int = 0


@dataclass
class _Pending(Generic[T, R]):
    items: Sequence[T]
    future: asyncio.Future[R] = field(repr=False)


class MicroBatcher(Generic[T, R]):
    """Merge concurrent submissions into one call of `run_batch`.

    Args:
        run_batch: Blocking function from all items of a batch to one output covering them
            in order; it runs in the batcher's own worker thread, one batch at a time.
        split: `split(output, start, stop)` returns the part of an output for items
            start..stop.
        max_items: A batch holds at most this many items (a larger request runs alone).
        max_wait_s: How long an open batch waits for more requests.
        name: Used in thread names and errors.
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], R],
        split: Callable[[R, int, int], R],
        *,
        max_items: int,
        max_wait_s: float,
        name: str = "batcher",
    ) -> None:
        if max_items <= 0:
            raise ValueError("max_items must be positive")
        self._run_batch = run_batch
        self._split = split
        self._max_items = max_items
        self._max_wait_s = max(0.0, max_wait_s)
        self._name = name
        self._queue: asyncio.Queue[_Pending[T, R]] = asyncio.Queue()
        self._carry: _Pending[T, R] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Task[None] | None = None
        self.stats = BatcherStats()

    @property
    def waiting(self) -> int:
        """Requests queued for a coming batch."""
        return self._queue.qsize() + (1 if self._carry is not None else 0)

    async def start(self) -> None:
        """Start the worker task (idempotent)."""
        if self._worker is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
            self._worker = asyncio.create_task(self._work(), name=self._name)

    async def aclose(self) -> None:
        """Stop the worker; requests still waiting fail with UNAVAILABLE."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._fail_waiting(UnavailableError(f"{self._name} is shutting down", reason="SHUTTING_DOWN"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, items: Sequence[T]) -> R:
        """Queue `items` for the next batch and wait for their output.

        Raises:
            UnavailableError: The batcher is not running.
            Exception: Whatever `run_batch` raised for the batch.
        """
        if self._worker is None:
            raise UnavailableError(f"{self._name} is not running", reason="NOT_STARTED")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(items, future))
        return await future

    async def _next(self, timeout_s: float | None) -> _Pending[T, R] | None:
        if self._carry is not None:
            pending, self._carry = self._carry, None
            return pending
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            pass
        if timeout_s is None:
            return await self._queue.get()
        if timeout_s <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return None

    async def _collect(self) -> list[_Pending[T, R]]:
        loop = asyncio.get_running_loop()
        first = await self._next(None)
        batch = [first] if first is not None else []
        count = len(first.items) if first is not None else 0
        deadline = loop.time() + self._max_wait_s
        while count < self._max_items:
            nxt = await self._next(deadline - loop.time())
            if nxt is None:
                break
            if count + len(nxt.items) > self._max_items:
                self._carry = nxt
                break
            batch.append(nxt)
            count += len(nxt.items)
        return [p for p in batch if not p.future.done()]

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            if not batch:
                continue
            items = [item for pending in batch for item in pending.items]
            try:
                output = await loop.run_in_executor(self._executor, self._run_batch, items)
            except asyncio.CancelledError:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(UnavailableError(f"{self._name} stopped", reason="SHUTTING_DOWN"))
                raise
            except Exception as exc:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            self.stats.batches += 1
            start = 0
            for pending in batch:
                stop = start + len(pending.items)
                self.stats.requests += 1
                self.stats.items += len(pending.items)
                if not pending.future.done():
                    pending.future.set_result(self._split(output, start, stop))
                start = stop

    def _fail_waiting(self, exc: Exception) -> None:
        waiting = [self._carry] if self._carry is not None else []
        self._carry = None
        while not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        for pending in waiting:
            if not pending.future.done():
                pending.future.set_exception(exc)

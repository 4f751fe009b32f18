"""The micro-batcher merges concurrent callers, keeps each caller's items together and in order."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agentplane.errors import UnavailableError
from domain_inference.batching import MicroBatcher

WAIT_S = 10.0


async def queued(batcher: MicroBatcher[str, list[str]], count: int) -> None:
    """Let the submitting tasks run until `count` requests wait in the batcher (bounded)."""
    for _ in range(10_000):
        if batcher.waiting >= count:
            return
        await asyncio.sleep(0)  # yields to the submitting tasks; not a timed wait
    raise AssertionError(f"only {batcher.waiting} of {count} requests queued")


def _split(output: list[str], start: int, stop: int) -> list[str]:
    return output[start:stop]


class GatedModel:
    """Upper-cases items; the first batch blocks until released, so the others queue up meanwhile."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.first_running = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_running.set()
            assert self.release.wait(WAIT_S)
        return [item.upper() for item in items]


async def test_concurrent_callers_share_one_run_and_get_their_own_items() -> None:
    model = GatedModel()
    batcher = MicroBatcher(model, _split, max_items=64, max_wait_s=0.0, name="test")
    await batcher.start()
    try:
        first = asyncio.create_task(batcher.submit(["a"]))
        assert await asyncio.to_thread(model.first_running.wait, WAIT_S)
        others = [asyncio.create_task(batcher.submit([f"x{i}", f"y{i}"])) for i in range(10)]
        await queued(batcher, 10)
        model.release.set()
        assert await asyncio.wait_for(first, WAIT_S) == ["A"]
        results = await asyncio.wait_for(asyncio.gather(*others), WAIT_S)
    finally:
        await batcher.aclose()
    assert results == [[f"X{i}", f"Y{i}"] for i in range(10)]
    assert len(model.batches) == 2 and len(model.batches[1]) == 20
    assert batcher.stats.requests == 11 and batcher.stats.items == 21 and batcher.stats.batches == 2


async def test_a_request_is_never_split_across_batches() -> None:
    model = GatedModel()
    batcher = MicroBatcher(model, _split, max_items=5, max_wait_s=0.0, name="test")
    await batcher.start()
    try:
        first = asyncio.create_task(batcher.submit(["a"]))
        assert await asyncio.to_thread(model.first_running.wait, WAIT_S)
        waiting = [asyncio.create_task(batcher.submit(["b", "c", "d"])) for _ in range(3)]
        await queued(batcher, 3)
        model.release.set()
        await asyncio.wait_for(asyncio.gather(first, *waiting), WAIT_S)
    finally:
        await batcher.aclose()
    assert [len(b) for b in model.batches] == [1, 3, 3, 3]


async def test_model_errors_reach_every_caller_of_the_batch_and_the_batcher_keeps_serving() -> None:
    calls = []

    def flaky(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return items

    batcher = MicroBatcher(flaky, _split, max_items=8, max_wait_s=0.0, name="test")
    await batcher.start()
    try:
        with pytest.raises(RuntimeError, match="boom"):
            await asyncio.wait_for(batcher.submit(["a"]), WAIT_S)
        assert await asyncio.wait_for(batcher.submit(["b"]), WAIT_S) == ["b"]
    finally:
        await batcher.aclose()


async def test_submit_before_start_and_after_close_is_unavailable() -> None:
    batcher = MicroBatcher(lambda items: items, _split, max_items=4, max_wait_s=0.0)
    with pytest.raises(UnavailableError, match="not running"):
        await batcher.submit(["a"])
    await batcher.start()
    await batcher.aclose()
    with pytest.raises(UnavailableError):
        await batcher.submit(["a"])

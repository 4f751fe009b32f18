"""Length bucketing: every row once, sorted runs, bounded padding, stacking ragged blocks."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from domain_inference.padding import bucket_rows, fit_width, merge_padded, row_width


def _cost(lengths: npt.NDArray[np.int64], runs: list[npt.NDArray[np.intp]], overhead: float) -> float:
    return sum(overhead + len(r) * int(lengths[r].max()) for r in runs)


def test_runs_cover_every_row_once_shortest_first() -> None:
    lengths = np.array([256, 12, 9, 40, 256, 11, 10, 200, 13, 12, 9, 8, 14, 15, 16, 250], dtype=np.int64)
    runs = bucket_rows(lengths, max_rows=64, run_overhead_tokens=16)
    flat = np.concatenate(runs)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    maxima = [int(lengths[r].max()) for r in runs]
    assert maxima == sorted(maxima)
    assert len(runs) >= 2, "titles and articles must not share one padded run"


def test_split_is_optimal_for_the_cost_model() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        lengths = rng.integers(3, 257, size=int(rng.integers(1, 9))).astype(np.int64)
        runs = bucket_rows(lengths, max_rows=4, run_overhead_tokens=16)
        assert all(len(r) <= 4 for r in runs)
        ordered = np.sort(lengths)
        n = len(ordered)
        brute = min(  # every way of cutting the sorted lengths into contiguous runs of <= 4
            _cost(ordered, [np.arange(a, b) for a, b in zip((0, *cuts), (*cuts, n), strict=True)], 16)
            for k in range(n)
            for cuts in itertools.combinations(range(1, n), k)
            if all(b - a <= 4 for a, b in zip((0, *cuts), (*cuts, n), strict=True))
        )
        assert _cost(lengths, runs, 16) == brute


def test_call_overhead_decides_between_padding_and_more_calls() -> None:
    lengths = np.array([10, 10, 10, 30], dtype=np.int64)
    assert len(bucket_rows(lengths, max_rows=64, run_overhead_tokens=100)) == 1
    assert len(bucket_rows(lengths, max_rows=64, run_overhead_tokens=0)) == 2


def test_runs_stay_within_the_token_cap_unless_single() -> None:
    lengths = np.array([256, 256, 200, 30, 30, 30, 30, 30, 30, 30, 30], dtype=np.int64)
    runs = bucket_rows(lengths, max_rows=64, run_overhead_tokens=16, max_run_tokens=128)
    for run in runs:
        assert len(run) == 1 or len(run) * int(lengths[run].max()) <= 128
    assert sorted(np.concatenate(runs).tolist()) == list(range(len(lengths)))


def test_equal_lengths_make_runs_of_max_rows() -> None:
    runs = bucket_rows(np.full(130, 20, dtype=np.int64), max_rows=64)
    assert sorted(len(r) for r in runs) == [2, 64, 64]


def test_max_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        bucket_rows(np.array([1], dtype=np.int64), max_rows=0)


def test_merge_pads_ragged_blocks_to_the_widest() -> None:
    a_ids = np.array([[101, 7, 102]], dtype=np.int64)
    b_ids = np.array([[101, 5, 6, 7, 102], [101, 9, 102, 0, 0]], dtype=np.int64)
    rows = merge_padded([a_ids, b_ids], [(a_ids != 0).astype(np.int64), (b_ids != 0).astype(np.int64)])
    assert rows.input_ids.shape == (3, 5)
    assert rows.input_ids[0].tolist() == [101, 7, 102, 0, 0]
    assert rows.lengths.tolist() == [3, 5, 3]
    assert rows.input_ids.dtype == np.int64 and rows.input_ids.flags.c_contiguous


def test_request_width_rounds_up_to_the_multiple_and_pads() -> None:
    counts = np.array([5, 37, 12], dtype=np.int64)
    assert row_width(counts) == 37
    assert row_width(counts, multiple=32) == 64
    rows = np.ones((3, 40), dtype=np.int64)
    assert fit_width(rows, 37).shape == (3, 37)
    padded = fit_width(rows, 64)
    assert padded.shape == (3, 64) and padded[:, 40:].sum() == 0 and padded[:, :40].sum() == 120

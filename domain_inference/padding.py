"""Length bucketing for encoder batches: pad each run to its own longest text, not the batch's.

Layer: domain (numpy only). A transformer's cost grows with the padded length, so a batch
that mixes a 10-token title with a 256-token article would pay 256 tokens for both. The
Triton encoder model and the in-process path both sort a batch's rows by length and split
it where padding would exceed a ratio of the real tokens, then run each run separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PaddedRows", "bucket_rows", "fit_width", "merge_padded", "row_width"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PaddedRows:
    """Token rows of several blocks, right-padded to one common width.

    Attributes:
        input_ids: int64 (n, width).
        attention_mask: int64 (n, width).
        lengths: Real tokens per row, int64 (n,).
    """

    input_ids: IntArray
    attention_mask: IntArray
    lengths: IntArray


def merge_padded(ids_blocks: Sequence[IntArray], mask_blocks: Sequence[IntArray]) -> PaddedRows:
    """Stack right-padded (rows, width_i) blocks into one (rows, max width) pair.

    Args:
        ids_blocks: input_ids of each block; widths may differ.
        mask_blocks: The matching attention masks.

    Returns:
        The rows of every block, in order, padded with zeros.
    """
    if len(ids_blocks) != len(mask_blocks):
        raise ValueError("ids and mask block counts differ")
    rows = sum(int(b.shape[0]) for b in ids_blocks)
    width = max((int(b.shape[1]) for b in ids_blocks), default=0)
    if len(ids_blocks) == 1:
        ids, mask = ids_blocks[0], mask_blocks[0]
    else:
        ids = np.zeros((rows, width), dtype=np.int64)
        mask = np.zeros((rows, width), dtype=np.int64)
        start = 0
        for block_ids, block_mask in zip(ids_blocks, mask_blocks, strict=True):
            n, w = block_ids.shape
            ids[start : start + n, :w] = block_ids
            mask[start : start + n, :w] = block_mask
            start += n
    return PaddedRows(
        np.ascontiguousarray(ids, dtype=np.int64),
        np.ascontiguousarray(mask, dtype=np.int64),
        mask.sum(axis=1).astype(np.int64),
    )


def bucket_rows(
    lengths: IntArray, *, max_rows: int, run_overhead_tokens: float = 16.0, max_run_tokens: int = 0
) -> list[npt.NDArray[np.intp]]:
    """Split rows, sorted by length, into the runs that cost the encoder least.

    Cost model: a run of r rows padded to width w costs `run_overhead_tokens + r * w` token
    units (each model call has a fixed cost, about 16 tokens' worth for MiniLM on a CPU: the
    graph's per-node dispatch), and a run of more than one row may hold at most
    `max_run_tokens` padded tokens (beyond about 1024 the activations outgrow the caches and
    every token gets dearer). Runs are contiguous in length order, so the best split is found
    exactly by dynamic programming over the sorted lengths (O(n * max_rows), vectorised).

    Args:
        lengths: Real tokens per row.
        max_rows: Most rows per run.
        run_overhead_tokens: Fixed cost of one model call, in padded-token units.
        max_run_tokens: Most padded tokens per run of several rows (0: no limit).

    Returns:
        Row indices of each run, shortest texts first; together they cover every row once.
    """
    if max_rows <= 0:
        raise ValueError("max_rows must be positive")
    order = np.argsort(lengths, kind="stable")
    n = len(order)
    if n == 0:
        return []
    widths = lengths[order].astype(np.float64)
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.intp)
    for end in range(1, n + 1):
        starts = np.arange(max(0, end - max_rows), end)
        padded = (end - starts) * widths[end - 1]
        costs = best[starts] + run_overhead_tokens + padded
        if max_run_tokens > 0:
            costs[(padded > max_run_tokens) & (starts < end - 1)] = np.inf
        pick = int(np.argmin(costs))
        best[end], cut[end] = costs[pick], starts[pick]
    runs: list[npt.NDArray[np.intp]] = []
    end = n
    while end > 0:
        runs.append(order[cut[end] : end])
        end = int(cut[end])
    return runs[::-1]


def row_width(token_counts: IntArray, multiple: int = 0) -> int:
    """Width to pad a request's rows to: its longest text, rounded up to `multiple` when > 1."""
    width = max(int(token_counts.max()) if token_counts.size else 0, 1)
    if multiple > 1:
        width = -(-width // multiple) * multiple
    return width


def fit_width(rows: IntArray, width: int) -> IntArray:
    """Right-padded rows cut or zero-padded to exactly `width` columns (C-contiguous)."""
    if rows.shape[1] >= width:
        return np.ascontiguousarray(rows[:, :width])
    return np.pad(rows, ((0, 0), (0, width - rows.shape[1])))

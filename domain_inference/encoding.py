"""Run the encoder and the topic head on prepared tensors: bucketed by length, outputs in input order.

Layer: domain (numpy; the session is any object with onnxruntime's `run`). Shared by the
Triton Python-backend models and the in-process path, so both compute the same numbers the
same way. Opening sessions (file I/O) is the adapters' job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from domain_inference.padding import PaddedRows, bucket_rows

__all__ = ["InferenceSession", "encode_rows", "run_head"]

F32 = npt.NDArray[np.float32]


class InferenceSession(Protocol):
    """The part of `onnxruntime.InferenceSession` used here."""

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, Any]) -> list[Any]:
        """Run the graph."""


def encode_rows(
    session: InferenceSession,
    rows: PaddedRows,
    *,
    input_names: tuple[str, str] = ("input_ids", "attention_mask"),
    output_name: str = "sentence_embedding",
    max_rows: int = 64,
    run_overhead_tokens: float = 16.0,
    max_run_tokens: int = 0,
) -> F32:
    """Embed token rows, running runs of similar length separately.

    Args:
        session: The text encoder.
        rows: Right-padded token rows.
        input_names: Names of the ids and mask inputs.
        output_name: The embedding output.
        max_rows: Most rows per encoder run.
        run_overhead_tokens: See `padding.bucket_rows`.
        max_run_tokens: See `padding.bucket_rows`.

    Returns:
        float32 (rows, dimensions), row i for input row i.
    """
    n = int(rows.input_ids.shape[0])
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    out: F32 | None = None
    for run in bucket_rows(
        rows.lengths, max_rows=max_rows, run_overhead_tokens=run_overhead_tokens, max_run_tokens=max_run_tokens
    ):
        width = max(1, int(rows.lengths[run].max()))
        feed = {
            input_names[0]: np.ascontiguousarray(rows.input_ids[run, :width]),
            input_names[1]: np.ascontiguousarray(rows.attention_mask[run, :width]),
        }
        vectors = np.asarray(session.run([output_name], feed)[0], dtype=np.float32)
        if out is None:
            out = np.empty((n, vectors.shape[1]), dtype=np.float32)
        out[run] = vectors
    assert out is not None
    return out


def run_head(
    session: InferenceSession, vectors: F32, *, input_name: str, output_names: Sequence[str]
) -> dict[str, F32]:
    """Run the topic head on embeddings.

    Args:
        session: The head.
        vectors: float32 (n, dimensions).
        input_name: The head's input.
        output_names: Outputs wanted.

    Returns:
        Output name -> float32 array with n rows.
    """
    results = session.run(list(output_names), {input_name: np.ascontiguousarray(vectors, dtype=np.float32)})
    return {name: np.asarray(value, dtype=np.float32) for name, value in zip(output_names, results, strict=True)}

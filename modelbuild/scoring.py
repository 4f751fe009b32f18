"""Run the exported head on embeddings, so thresholds and metrics come from the served graph.

Layer: build tooling (onnxruntime, numpy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from modelbuild.head_export import HEAD_INPUT, HEAD_OUTPUTS

__all__ = ["HeadScores", "score_embeddings"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class HeadScores:
    """Head outputs for a set of inputs, with the token counts the encoder saw.

    Attributes:
        logits: (n, classes).
        probs: (n, classes), temperature applied.
        centroid_cos: (n, classes).
        mahalanobis: (n,).
        ood_logit: (n,).
        token_counts: (n,).
    """

    logits: FloatArray
    probs: FloatArray
    centroid_cos: FloatArray
    mahalanobis: FloatArray
    ood_logit: FloatArray
    token_counts: IntArray

    @property
    def confidence(self) -> FloatArray:
        """Top-class calibrated probability, shape (n,)."""
        return np.asarray(self.probs.max(axis=1), dtype=np.float64)

    @property
    def predicted(self) -> IntArray:
        """Top-class index, shape (n,)."""
        return np.asarray(self.probs.argmax(axis=1), dtype=np.int64)

    @classmethod
    def concatenate(cls, parts: Sequence[HeadScores]) -> HeadScores:
        """Stack the rows of several score sets, in order."""
        return cls(
            logits=np.concatenate([p.logits for p in parts]),
            probs=np.concatenate([p.probs for p in parts]),
            centroid_cos=np.concatenate([p.centroid_cos for p in parts]),
            mahalanobis=np.concatenate([p.mahalanobis for p in parts]),
            ood_logit=np.concatenate([p.ood_logit for p in parts]),
            token_counts=np.concatenate([p.token_counts for p in parts]),
        )

    def subset(self, mask: npt.NDArray[np.bool_]) -> HeadScores:
        """Return the rows selected by a boolean mask."""
        return HeadScores(
            self.logits[mask],
            self.probs[mask],
            self.centroid_cos[mask],
            self.mahalanobis[mask],
            self.ood_logit[mask],
            self.token_counts[mask],
        )


def score_embeddings(
    session: Any, vectors: npt.NDArray[np.float32], token_counts: IntArray, batch_size: int = 1024
) -> HeadScores:
    """Run the head graph over `vectors` in batches.

    Args:
        session: onnxruntime session of the head.
        vectors: (n, dim) embeddings.
        token_counts: (n,) token counts of the embedded texts.
        batch_size: Rows per call.
    """
    parts: list[list[npt.NDArray[np.float32]]] = [[] for _ in HEAD_OUTPUTS]
    for start in range(0, len(vectors), batch_size):
        feed = {HEAD_INPUT: np.ascontiguousarray(vectors[start : start + batch_size], dtype=np.float32)}
        for i, value in enumerate(session.run(list(HEAD_OUTPUTS), feed)):
            parts[i].append(value)
    arrays = [np.concatenate(p).astype(np.float64) for p in parts]
    return HeadScores(
        logits=arrays[0],
        probs=arrays[1],
        centroid_cos=arrays[2],
        mahalanobis=arrays[3],
        ood_logit=arrays[4],
        token_counts=np.asarray(token_counts, dtype=np.int64),
    )

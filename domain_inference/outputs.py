"""Raw model outputs, as both inference paths return them: columnar numpy arrays, one row per text.

Layer: domain (numpy only). The Triton adapter and the in-process path each fill these from
their own tensors; `classification` turns a `ClassifierOutput` into answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ClassifierOutput", "EmbeddingOutput"]

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ClassifierOutput:
    """What the topic pipeline computes for n texts.

    Attributes:
        probs: Calibrated class probabilities, float32 (n, classes), in label order.
        ood_logit: Off-topic detector log-odds, float32 (n,).
        mahalanobis: Distance to the nearest class mean, float32 (n,).
        token_counts: Tokens the encoder saw per text, int64 (n,).
        truncated: Whether each text was cut at the model's max tokens, bool (n,).
    """

    probs: F32
    ood_logit: F32
    mahalanobis: F32
    token_counts: npt.NDArray[np.int64]
    truncated: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.probs.shape[0])

    def rows(self, start: int, stop: int) -> ClassifierOutput:
        """The outputs of texts start..stop."""
        return ClassifierOutput(
            self.probs[start:stop],
            self.ood_logit[start:stop],
            self.mahalanobis[start:stop],
            self.token_counts[start:stop],
            self.truncated[start:stop],
        )


@dataclass(frozen=True)
class EmbeddingOutput:
    """What the encoder pipeline computes for n texts.

    Attributes:
        vectors: Unit-norm embeddings, float32 (n, dimensions).
        token_counts: Tokens the encoder saw per text, int64 (n,).
        truncated: Whether each text was cut at the model's max tokens, bool (n,).
    """

    vectors: F32
    token_counts: npt.NDArray[np.int64]
    truncated: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def rows(self, start: int, stop: int) -> EmbeddingOutput:
        """The outputs of texts start..stop."""
        return EmbeddingOutput(self.vectors[start:stop], self.token_counts[start:stop], self.truncated[start:stop])

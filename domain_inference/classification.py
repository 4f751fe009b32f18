"""From raw topic-model outputs to answers: label, ranked probabilities, confidence and OOD flag.

Layer: domain (numpy only), shared by both inference paths so they answer alike.

The rule (documented in docs/domain_inference.md). Each text falls in the gate bucket of
its token count; the bucket carries `confidence_min` (the calibrated probability from which
answers keep the target error), `ood_logit_max` and `mahalanobis_max`. With `p` the
calibrated probability of the top label and `nominal` the gate's nominal confidence (0.85):

- out_of_domain = ood_logit > ood_logit_max  or  mahalanobis > mahalanobis_max
- confidence = p * min(1, nominal / confidence_min)      (in domain)
- confidence = min(that, ood_confidence_cap)              (out of domain; cap 0.5 < nominal)

so `confidence >= nominal` holds exactly when the gate would answer, and the controller's
single threshold (escalate below 0.85) applies every bucket's own floor. `ood_score` is
how far the worse detector is past its bucket's threshold, as a ratio:
max(exp(ood_logit - ood_logit_max), mahalanobis / mahalanobis_max); `ood_threshold` is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain_inference.models import ModelSpec
from domain_inference.outputs import ClassifierOutput

__all__ = ["OOD_THRESHOLD", "ClassificationBatch", "interpret"]

OOD_THRESHOLD = 1.0
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ClassificationBatch:
    """Answers for n texts, columnar.

    Attributes:
        labels: The model's class names (indexes below refer to them).
        ranked: Label indexes per text, most probable first, (n, classes).
        ranked_probs: The matching calibrated probabilities, (n, classes).
        confidence: Confidence of the top label per text, (n,).
        out_of_domain: Whether each text looks unlike the training domain, (n,).
        ood_score: Ratio to the OOD threshold (above 1: out of domain), (n,).
        token_counts: Tokens the encoder saw per text, (n,).
        truncated: Whether each text was cut at the model's max tokens, (n,).
    """

    labels: tuple[str, ...]
    ranked: npt.NDArray[np.intp]
    ranked_probs: F64
    confidence: F64
    out_of_domain: npt.NDArray[np.bool_]
    ood_score: F64
    token_counts: npt.NDArray[np.int64]
    truncated: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.confidence.shape[0])

    def label_of(self, row: int) -> str:
        """The top label of text `row`."""
        return self.labels[int(self.ranked[row, 0])]


def interpret(spec: ModelSpec, output: ClassifierOutput, ood_confidence_cap: float) -> ClassificationBatch:
    """Apply the model's gate to raw outputs.

    Args:
        spec: The classifier (labels and gate).
        output: Raw outputs for n texts.
        ood_confidence_cap: Highest confidence an out-of-domain answer may carry.

    Returns:
        The answers, row i for text i.
    """
    probs = np.asarray(output.probs, dtype=np.float64)
    ranked = np.argsort(-probs, axis=1, kind="stable")
    ranked_probs = probs[np.arange(probs.shape[0])[:, None], ranked]
    top = ranked_probs[:, 0]
    table = spec.gate_table
    if table is None:
        ood = np.zeros(len(top), dtype=np.bool_)
        return ClassificationBatch(
            spec.labels, ranked, ranked_probs, top, ood, np.zeros(len(top)), output.token_counts, output.truncated
        )
    bucket = np.searchsorted(table.starts, output.token_counts, side="right")
    ood_margin = output.ood_logit.astype(np.float64) - table.ood_logit_max[bucket]
    maha_ratio = output.mahalanobis.astype(np.float64) / table.mahalanobis_max[bucket]
    ood = (ood_margin > 0) | (maha_ratio > 1)
    score = np.maximum(np.exp(np.minimum(ood_margin, 50.0)), maha_ratio)
    confidence = top * table.confidence_scale[bucket]
    confidence[ood] = np.minimum(confidence[ood], ood_confidence_cap)
    return ClassificationBatch(
        spec.labels, ranked, ranked_probs, confidence, ood, score, output.token_counts, output.truncated
    )

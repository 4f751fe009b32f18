"""Classification, calibration and detection metrics in numpy.

Layer: build tooling (numpy only).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "accuracy",
    "auroc",
    "coverage_at_error",
    "expected_calibration_error",
    "macro_f1",
    "negative_log_likelihood",
    "selective",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def accuracy(predicted: IntArray, labels: IntArray) -> float:
    """Share of predictions equal to the labels; 0 for empty input."""
    return float(np.mean(predicted == labels)) if len(labels) else 0.0


def macro_f1(predicted: IntArray, labels: IntArray, classes: int) -> float:
    """Unweighted mean of per-class F1; a class with no support and no predictions scores 0."""
    scores = []
    for k in range(classes):
        true_positive = float(np.sum((predicted == k) & (labels == k)))
        denominator = float(np.sum(predicted == k) + np.sum(labels == k))
        scores.append(2 * true_positive / denominator if denominator else 0.0)
    return float(np.mean(scores))


def negative_log_likelihood(probs: FloatArray, labels: IntArray) -> float:
    """Mean -log p(true label)."""
    return float(-np.mean(np.log(probs[np.arange(len(labels)), labels] + 1e-12)))


def expected_calibration_error(probs: FloatArray, labels: IntArray, bins: int = 15) -> float:
    """ECE of the top-class confidence over equal-width bins on [0, 1].

    Each bin contributes |accuracy - mean confidence| weighted by its share of samples; a
    confidence of exactly 0 falls in the first bin.
    """
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def auroc(positive: FloatArray, negative: FloatArray) -> float:
    """Probability that a positive scores above a negative (ties count one half).

    Args:
        positive: Scores of the class to detect (here: off-topic inputs).
        negative: Scores of the other class.
    """
    scores = np.concatenate([positive, negative])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def selective(answered: BoolArray, correct: BoolArray) -> dict[str, float | int]:
    """Coverage and accuracy of the answered subset.

    Returns:
        `n`, `answered`, `coverage`, `accuracy` (1.0 when nothing is answered) and `error`.
    """
    n_answered = int(answered.sum())
    acc = float(correct[answered].mean()) if n_answered else 1.0
    return {
        "n": len(answered),
        "answered": n_answered,
        "coverage": float(answered.mean()) if len(answered) else 0.0,
        "accuracy": acc,
        "error": 1.0 - acc,
    }


def coverage_at_error(confidence: FloatArray, correct: BoolArray, max_error: float) -> float:
    """Largest coverage whose most-confident answers keep the error rate <= `max_error`."""
    order = np.argsort(-confidence, kind="mergesort")
    errors = np.cumsum(~correct[order])
    counts = np.arange(1, len(order) + 1)
    feasible = np.nonzero(errors / counts <= max_error)[0]
    return float((feasible.max() + 1) / len(order)) if len(feasible) else 0.0

"""Fit the answer-or-escalate thresholds per input-length bucket on validation data.

Layer: build tooling (numpy).

Why per length: a Mahalanobis or detector threshold set on 256-token articles rejects most
in-domain headlines, and one set on headlines admits most reviews. Each bucket therefore gets
its own quantiles of in-domain validation scores (validation articles and snippets cut from
them; never the OOD evaluation set), and its own confidence floor chosen so that the answered
validation inputs of that bucket keep their error at or under the target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from domain_inference.artifacts import GateBucket, GatePolicy
from modelbuild.scoring import HeadScores

__all__ = ["NEVER_CONFIDENT", "admitted_mask", "bucket_index", "fit_gate", "in_domain_mask"]

# Above any probability: a bucket whose validation error cannot reach the target answers nothing.
NEVER_CONFIDENT = 1.01


def bucket_index(policy: GatePolicy, token_counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the bucket position of each token count."""
    starts = np.array([b.min_tokens for b in policy.buckets[1:]], dtype=np.int64)
    return np.asarray(np.searchsorted(starts, token_counts, side="right"), dtype=np.int64)


def in_domain_mask(policy: GatePolicy, scores: HeadScores) -> npt.NDArray[np.bool_]:
    """Whether each input passes its bucket's OOD thresholds."""
    index = bucket_index(policy, scores.token_counts)
    ood_max = np.array([b.ood_logit_max for b in policy.buckets])[index]
    maha_max = np.array([b.mahalanobis_max for b in policy.buckets])[index]
    return np.asarray((scores.ood_logit <= ood_max) & (scores.mahalanobis <= maha_max), dtype=np.bool_)


def admitted_mask(policy: GatePolicy, scores: HeadScores) -> npt.NDArray[np.bool_]:
    """Whether each input would be answered rather than escalated."""
    index = bucket_index(policy, scores.token_counts)
    floor = np.array([b.confidence_min for b in policy.buckets])[index]
    return np.asarray(in_domain_mask(policy, scores) & (scores.confidence >= floor), dtype=np.bool_)


def _confidence_floor(
    confidence: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_], nominal: float, target_error: float
) -> float:
    candidates = np.unique(confidence[confidence >= nominal])
    for floor in [nominal, *candidates.tolist()]:
        answered = confidence >= floor
        if answered.any() and 1.0 - correct[answered].mean() <= target_error:
            return float(floor)
    return NEVER_CONFIDENT


def fit_gate(
    validation: HeadScores,
    labels: npt.NDArray[np.int64],
    bucket_starts: Sequence[int],
    ood_quantile: float,
    mahalanobis_quantile: float,
    nominal_confidence: float,
    target_error: float,
) -> GatePolicy:
    """Choose per-bucket thresholds from in-domain validation scores.

    Args:
        validation: Head scores of in-domain validation inputs of every length.
        labels: Their true classes.
        bucket_starts: Token counts at which buckets 2.. start, ascending (e.g. 16, 48, 128).
        ood_quantile: Percentile of validation `ood_logit` kept in domain (e.g. 95).
        mahalanobis_quantile: Percentile of validation `mahalanobis` kept in domain (e.g. 99).
        nominal_confidence: Lowest confidence floor (e.g. 0.85).
        target_error: Largest validation error allowed among answered inputs of a bucket.

    Returns:
        The policy.

    Raises:
        ValueError: A bucket holds no validation input.
    """
    starts = [0, *bucket_starts]
    ends: list[int | None] = [s - 1 for s in bucket_starts] + [None]
    buckets: list[GateBucket] = []
    for low, high in zip(starts, ends, strict=True):
        members = validation.token_counts >= low
        if high is not None:
            members &= validation.token_counts <= high
        if not members.any():
            raise ValueError(f"no validation input with {low}..{high} tokens")
        part = validation.subset(members)
        ood_max = float(np.percentile(part.ood_logit, ood_quantile))
        maha_max = float(np.percentile(part.mahalanobis, mahalanobis_quantile))
        passed = (part.ood_logit <= ood_max) & (part.mahalanobis <= maha_max)
        correct = part.predicted == labels[members]
        floor = _confidence_floor(part.confidence[passed], correct[passed], nominal_confidence, target_error)
        name = f"{low}+" if high is None else f"{low}-{high}"
        buckets.append(GateBucket(name, low, high, floor, ood_max, maha_max))
    return GatePolicy(tuple(buckets), nominal_confidence)

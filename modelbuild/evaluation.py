"""Figures for the news-topic model card, computed from the exported head's outputs.

Layer: build tooling (numpy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from domain_inference.artifacts import GatePolicy
from modelbuild.gating import admitted_mask, bucket_index, in_domain_mask
from modelbuild.head import softmax
from modelbuild.metrics import (
    accuracy,
    auroc,
    coverage_at_error,
    expected_calibration_error,
    macro_f1,
    negative_log_likelihood,
    selective,
)
from modelbuild.ood import energy_score
from modelbuild.scoring import HeadScores

__all__ = ["classification_report", "ood_report", "ood_scores"]

Figures = dict[str, Any]


def classification_report(
    scores: HeadScores, labels: npt.NDArray[np.int64], policy: GatePolicy, temperature: float, classes: int
) -> Figures:
    """Accuracy, macro-F1, calibration and selective figures for one in-domain set.

    Args:
        scores: Head outputs.
        labels: True classes.
        policy: The fitted gate.
        temperature: T applied inside the graph (for the uncalibrated NLL/ECE).
        classes: Number of classes.
    """
    predicted = scores.predicted
    correct = predicted == labels
    confidence = scores.confidence
    nominal = confidence >= policy.nominal_confidence
    in_domain = in_domain_mask(policy, scores)
    uncalibrated = softmax(scores.logits)
    return {
        "n": len(labels),
        "accuracy": accuracy(predicted, labels),
        "macro_f1": macro_f1(predicted, labels, classes),
        "nll": negative_log_likelihood(scores.probs, labels),
        "nll_before_temperature": negative_log_likelihood(uncalibrated, labels),
        "ece_15": expected_calibration_error(scores.probs, labels, 15),
        "ece_15_before_temperature": expected_calibration_error(uncalibrated, labels, 15),
        "at_nominal_confidence": selective(nominal, correct),
        "at_nominal_confidence_with_ood_gate": selective(nominal & in_domain, correct),
        "gate_policy": selective(admitted_mask(policy, scores), correct),
        "ood_gate_pass_rate": float(in_domain.mean()),
        "coverage_at_1pct_error": coverage_at_error(confidence, correct, 0.01),
        "error_at_95pct_coverage": _error_at_coverage(confidence, correct, 0.95),
        "temperature": temperature,
    }


def _error_at_coverage(confidence: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_], coverage: float) -> float:
    order = np.argsort(-confidence, kind="mergesort")
    kept = order[: int(np.ceil(coverage * len(order)))]
    return float(1.0 - correct[kept].mean())


def ood_scores(scores: HeadScores, temperature: float) -> dict[str, npt.NDArray[np.float64]]:
    """Every OOD score, oriented so that higher means more off-topic."""
    return {
        "max_softmax": -scores.confidence,
        "energy": energy_score(scores.logits, temperature),
        "centroid_cos": -scores.centroid_cos.max(axis=1),
        "mahalanobis": scores.mahalanobis,
        "ood_logit": scores.ood_logit,
    }


def ood_report(
    in_domain: Mapping[str, HeadScores],
    off_topic: Mapping[str, HeadScores],
    policy: GatePolicy,
    temperature: float,
) -> Figures:
    """AUROC of every OOD score for each off-topic set against each in-domain set, and the
    share of each off-topic set that the gate escalates (overall and per length bucket).
    """
    aurocs: dict[str, dict[str, float]] = {}
    for off_name, off in off_topic.items():
        off_scores = ood_scores(off, temperature)
        for in_name, inside in in_domain.items():
            in_scores = ood_scores(inside, temperature)
            aurocs[f"{off_name}_vs_{in_name}"] = {name: auroc(off_scores[name], in_scores[name]) for name in off_scores}
    escalated: dict[str, Any] = {}
    for off_name, off in off_topic.items():
        admitted = admitted_mask(policy, off)
        index = bucket_index(policy, off.token_counts)
        escalated[off_name] = {
            "n": len(admitted),
            "escalated": float(1.0 - admitted.mean()),
            "escalated_by_ood_gate_alone": float(1.0 - in_domain_mask(policy, off).mean()),
            "escalated_by_nominal_confidence_alone": float(np.mean(off.confidence < policy.nominal_confidence)),
            "by_bucket": {
                bucket.name: {"n": int((index == i).sum()), "escalated": float(1.0 - admitted[index == i].mean())}
                for i, bucket in enumerate(policy.buckets)
                if (index == i).any()
            },
        }
    return {"auroc": aurocs, "escalation": escalated}

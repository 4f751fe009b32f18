"""The confidence rule: confidence >= nominal exactly when the gate answers; OOD answers are capped."""

from __future__ import annotations

import numpy as np

from domain_inference.artifacts import GateBucket, GatePolicy
from domain_inference.classification import OOD_THRESHOLD, interpret
from domain_inference.models import ModelKind, ModelSpec
from domain_inference.outputs import ClassifierOutput

LABELS = ("business", "sport", "tech")
GATE = GatePolicy(
    (
        GateBucket("0-15", 0, 15, confidence_min=0.99, ood_logit_max=-1.0, mahalanobis_max=500.0),
        GateBucket("16+", 16, None, confidence_min=0.85, ood_logit_max=-2.0, mahalanobis_max=400.0),
    ),
    nominal_confidence=0.85,
)
SPEC = ModelSpec("news-topic", ModelKind.CLASSIFIER, "1", 256, 384, LABELS, GATE)


def _output(probs: list[list[float]], ood: list[float], maha: list[float], tokens: list[int]) -> ClassifierOutput:
    n = len(probs)
    return ClassifierOutput(
        np.array(probs, dtype=np.float32),
        np.array(ood, dtype=np.float32),
        np.array(maha, dtype=np.float32),
        np.array(tokens, dtype=np.int64),
        np.zeros(n, dtype=np.bool_),
    )


def test_labels_and_probabilities_are_ranked() -> None:
    batch = interpret(SPEC, _output([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]], [-5, -5], [10, 10], [100, 100]), 0.5)
    assert [batch.label_of(0), batch.label_of(1)] == ["tech", "business"]
    assert batch.ranked_probs[0].tolist() == sorted(batch.ranked_probs[0].tolist(), reverse=True)
    assert batch.ranked[0].tolist() == [2, 1, 0]


def test_in_domain_long_text_keeps_its_calibrated_probability() -> None:
    batch = interpret(SPEC, _output([[0.9, 0.05, 0.05]], [-5.0], [100.0], [200]), 0.5)
    assert not batch.out_of_domain[0]
    assert batch.confidence[0] == np.float32(0.9).item()


def test_short_text_needs_its_bucket_floor_to_reach_nominal() -> None:
    probs = [[0.95, 0.03, 0.02], [0.995, 0.004, 0.001]]
    batch = interpret(SPEC, _output(probs, [-5, -5], [100, 100], [8, 8]), 0.5)
    assert batch.confidence[0] < 0.85 <= batch.confidence[1]
    assert np.isclose(batch.confidence[1], 0.995 * 0.85 / 0.99)


def test_out_of_domain_is_flagged_by_either_detector_and_capped() -> None:
    probs = [[0.99, 0.005, 0.005]] * 3
    batch = interpret(SPEC, _output(probs, [0.5, -5.0, -5.0], [100.0, 450.0, 100.0], [200, 200, 200]), 0.5)
    assert batch.out_of_domain.tolist() == [True, True, False]
    assert batch.confidence[:2].tolist() == [0.5, 0.5]
    assert batch.ood_score[0] > OOD_THRESHOLD and batch.ood_score[1] > OOD_THRESHOLD
    assert batch.ood_score[2] <= OOD_THRESHOLD
    assert np.isclose(batch.ood_score[1], 450.0 / 400.0)


def test_gate_decision_matches_the_artifacts_policy() -> None:
    rng = np.random.default_rng(1)
    raw = rng.dirichlet([0.3, 0.3, 0.3], size=300)
    ood = rng.normal(-2.0, 1.5, size=300)
    maha = rng.normal(420.0, 60.0, size=300)
    tokens = rng.integers(3, 300, size=300)
    batch = interpret(SPEC, _output(raw.tolist(), ood.tolist(), maha.tolist(), tokens.tolist()), 0.5)
    for i in range(300):
        top = float(np.float32(raw[i].max()))
        admits = GATE.admits(top, float(np.float32(ood[i])), float(np.float32(maha[i])), int(tokens[i]))
        assert (batch.confidence[i] >= 0.85) == admits, i

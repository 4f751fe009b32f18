"""The confidence model: every component can only lower the score, and says why."""

from __future__ import annotations

import math

import pytest

from controller.confidence import agreement, combine, domain_confidence, freshness, llm_confidence, realtime_confidence
from controller.config import ConfidenceSettings
from controller.models import Confidence, Degradation

S = ConfidenceSettings()


def test_domain_score_is_the_calibrated_probability_when_nothing_is_wrong():
    conf = domain_confidence(
        0.97, out_of_domain=False, ood_score=10, ood_threshold=50, truncated=False, degradations=(), settings=S
    )
    assert conf.score == pytest.approx(0.97)
    assert [c.name for c in conf.components] == ["calibrated_probability"]


def test_out_of_domain_and_degraded_paths_lower_the_domain_score():
    degraded = [Degradation("domain_inference.triton", "in-process fallback", S.in_process_penalty)]
    conf = domain_confidence(
        0.99, out_of_domain=True, ood_score=900, ood_threshold=487, truncated=True, degradations=degraded, settings=S
    )
    assert conf.score == pytest.approx(0.99 * S.ood_penalty * S.truncation_penalty * S.in_process_penalty, abs=1e-6)
    assert conf.score < 0.85
    assert {"out_of_domain", "truncated_input", "degraded:domain_inference.triton"} <= {c.name for c in conf.components}
    assert "out_of_domain" in conf.rationale


def test_llm_score_from_logprobs_is_the_geometric_mean_token_probability():
    logprobs = [-0.1, -0.2, -0.3]
    conf = llm_confidence(
        token_logprobs=logprobs, sample_agreement=None, samples=1, hit_max_tokens=False, degradations=(), settings=S
    )
    assert conf.score == pytest.approx(math.exp(-0.2), rel=1e-5)
    assert conf.method == "product (logprobs)"


def test_llm_without_logprobs_uses_sample_agreement_and_penalises_truncation():
    conf = llm_confidence(
        token_logprobs=None, sample_agreement=2 / 3, samples=3, hit_max_tokens=True, degradations=(), settings=S
    )
    assert conf.score == pytest.approx(2 / 3 * S.length_finish_penalty, rel=1e-5)
    unverified = llm_confidence(
        token_logprobs=None, sample_agreement=None, samples=1, hit_max_tokens=False, degradations=(), settings=S
    )
    assert unverified.score == 0.5


def test_agreement_normalises_case_and_punctuation():
    index, share = agreement(["Paris.", "paris", "It is Lyon"])
    assert (index, share) == (0, pytest.approx(2 / 3))


def test_freshness_is_full_within_ttl_and_halves_every_ttl_beyond():
    assert freshness(100, 300) == 1.0
    assert freshness(600, 300) == pytest.approx(0.5)
    assert freshness(900, 300) == pytest.approx(0.25)


def test_realtime_score_is_completeness_times_freshness_lowered_by_injection_and_staleness():
    clean = realtime_confidence(
        completeness=0.75,
        age_s=0,
        ttl_s=60,
        injection_flagged=False,
        injection_score=0,
        from_snapshot=False,
        degradations=(),
        settings=S,
    )
    assert clean.score == pytest.approx(0.75)
    risky = realtime_confidence(
        completeness=1.0,
        age_s=120,
        ttl_s=60,
        injection_flagged=True,
        injection_score=0.9,
        from_snapshot=True,
        degradations=(),
        settings=S,
    )
    assert risky.score == pytest.approx(0.5 * S.injection_penalty * S.stale_snapshot_penalty)


def test_multi_step_combination_is_the_product_of_steps():
    combined = combine([("s1", Confidence(0.9)), ("s2", Confidence(0.8))])
    assert combined.score == pytest.approx(0.72)
    assert [c.name for c in combined.components] == ["step:s1", "step:s2"]


def test_short_inputs_are_scaled_by_the_models_per_length_gate():
    conf = domain_confidence(
        0.95,
        gated_confidence=0.81,
        out_of_domain=False,
        ood_score=0.2,
        ood_threshold=1,
        truncated=False,
        degradations=(),
        settings=S,
    )
    assert conf.score == pytest.approx(0.81, abs=1e-6)
    assert "length_calibration" in {c.name for c in conf.components}

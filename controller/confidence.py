"""The confidence model: one score in [0, 1] per result, with named components.

Layer: controller domain (pure). Every score is a PRODUCT of components in [0, 1]:
a component can only lower confidence, and each one says why. Per route:

- Domain: calibrated probability of the label (temperature-scaled by the model)
  x out-of-domain penalty x degraded-path penalties (in-process fallback,
  truncation, LLM stand-in when domain inference is down).
- LLM: token confidence exp(mean token logprob) when the provider returns
  logprobs, otherwise agreement of k samples (share of samples matching the
  majority answer); x a penalty when generation hit max_tokens; x degradations.
- Real-time: extraction completeness (or 1 for a readable page) x freshness
  (1 within the volatility's TTL, halving every TTL beyond) x injection penalty
  when the content was flagged x a penalty for a stale controller snapshot.
- Multi-step: the product of the steps' scores (every step must be right for
  the answer to be right, so the product is the conservative combination).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from controller.config import ConfidenceSettings
from controller.models import Component, Confidence, Degradation

__all__ = [
    "VOLATILITY_TTL_S",
    "agreement",
    "combine",
    "domain_confidence",
    "freshness",
    "llm_confidence",
    "normalise_answer",
    "realtime_confidence",
]

VOLATILITY_TTL_S = {
    "SECONDS": 10.0,
    "MINUTES": 300.0,
    "HOURS": 3600.0,
    "DAYS": 86_400.0,
    "STATIC": 30 * 86_400.0,
}


def _product(components: Sequence[Component]) -> float:
    score = 1.0
    for c in components:
        score *= max(0.0, min(1.0, c.value)) ** c.weight
    return round(max(0.0, min(1.0, score)), 6)


def _with_degradations(components: list[Component], degradations: Sequence[Degradation]) -> list[Component]:
    for d in degradations:
        if d.penalty < 1.0:
            components.append(Component(f"degraded:{d.component}", d.penalty, 1.0, d.reason))
    return components


def _explain(components: Sequence[Component], score: float) -> str:
    lowering = [f"{c.name}={c.value:.3f}" for c in components if c.value < 0.999]
    if not lowering:
        return f"score {score:.3f}: every component at 1.0"
    return f"score {score:.3f} = product of components; lowered by " + ", ".join(lowering)


def domain_confidence(
    probability: float,
    *,
    gated_confidence: float | None = None,
    out_of_domain: bool,
    ood_score: float,
    ood_threshold: float,
    truncated: bool,
    degradations: Sequence[Degradation],
    settings: ConfidenceSettings,
) -> Confidence:
    """Confidence of a domain-model label.

    Args:
        probability: Calibrated probability of the label.
        gated_confidence: The model's own confidence, which scales the probability down for
            inputs whose length bucket needs a higher probability for the same error rate
            (short texts); None when the model has no such gate.
        out_of_domain: The model flagged the text as unlike its training data.
        ood_score: How far past the OOD threshold (ratio; above `ood_threshold` is OOD).
        ood_threshold: The OOD threshold on that scale.
        truncated: The text was cut at the model's max tokens.
        degradations: Degraded paths taken (each with its penalty).
        settings: Penalties.
    """
    components = [Component("calibrated_probability", probability, 1.0, "temperature-scaled softmax of the label")]
    if gated_confidence is not None and not out_of_domain and 0 < gated_confidence < probability:
        components.append(
            Component(
                "length_calibration",
                gated_confidence / probability,
                1.0,
                "short inputs need a higher probability for the same error rate (the model's per-length gate)",
            )
        )
    if out_of_domain:
        components.append(
            Component(
                "out_of_domain",
                settings.ood_penalty,
                1.0,
                f"OOD score {ood_score:.1f} above threshold {ood_threshold:.1f}: unlike the training data",
            )
        )
    if truncated:
        components.append(Component("truncated_input", settings.truncation_penalty, 1.0, "text cut at max tokens"))
    components = _with_degradations(components, degradations)
    score = _product(components)
    return Confidence(score, tuple(components), _explain(components, score), "product")


def normalise_answer(text: str) -> str:
    """Answer text reduced for agreement checks: lower case, words only, first 40 words."""
    words = re.findall(r"[\w']+", text.lower())
    return " ".join(words[:40])


def agreement(answers: Sequence[str]) -> tuple[int, float]:
    """(index of a majority answer, share of answers equal to it after normalisation)."""
    keys = [normalise_answer(a) for a in answers]
    key, count = Counter(keys).most_common(1)[0]
    return keys.index(key), count / len(keys)


def llm_confidence(
    *,
    token_logprobs: Sequence[float] | None,
    sample_agreement: float | None,
    samples: int,
    hit_max_tokens: bool,
    degradations: Sequence[Degradation],
    settings: ConfidenceSettings,
) -> Confidence:
    """Confidence of an LLM answer from its logprobs, or from k-sample agreement."""
    components: list[Component] = []
    if token_logprobs:
        mean = sum(token_logprobs) / len(token_logprobs)
        value = math.exp(settings.llm_logprob_scale * mean)
        worst = min(token_logprobs)
        components.append(
            Component(
                "token_confidence",
                value,
                1.0,
                f"exp(mean logprob {mean:.3f}) over {len(token_logprobs)} tokens; "
                f"least likely token {math.exp(worst):.3f}",
            )
        )
    elif sample_agreement is not None:
        components.append(
            Component("sample_agreement", sample_agreement, 1.0, f"{sample_agreement:.0%} of {samples} samples agree")
        )
    else:
        components.append(Component("unverified", 0.5, 1.0, "no logprobs and no samples to check the answer against"))
    if hit_max_tokens:
        components.append(Component("truncated_answer", settings.length_finish_penalty, 1.0, "stopped at max_tokens"))
    components = _with_degradations(components, degradations)
    score = _product(components)
    method = "logprobs" if token_logprobs else "agreement" if sample_agreement is not None else "none"
    return Confidence(score, tuple(components), _explain(components, score), f"product ({method})")


def freshness(age_s: float, ttl_s: float) -> float:
    """1.0 while age <= TTL, then halving every further TTL."""
    if age_s <= ttl_s:
        return 1.0
    return float(0.5 ** ((age_s - ttl_s) / ttl_s))


def realtime_confidence(
    *,
    completeness: float,
    age_s: float,
    ttl_s: float,
    injection_flagged: bool,
    injection_score: float,
    from_snapshot: bool,
    degradations: Sequence[Degradation],
    settings: ConfidenceSettings,
) -> Confidence:
    """Confidence of real-time data: completeness x freshness, lowered for injection and staleness."""
    components = [
        Component("completeness", completeness, 1.0, "share of requested fields found (1 for a readable page)"),
        Component("freshness", freshness(age_s, ttl_s), 1.0, f"age {age_s:.0f}s against a TTL of {ttl_s:.0f}s"),
    ]
    if injection_flagged:
        components.append(
            Component(
                "injection_risk", settings.injection_penalty, 1.0, f"content flagged (score {injection_score:.2f})"
            )
        )
    if from_snapshot:
        components.append(
            Component(
                "stale_snapshot", settings.stale_snapshot_penalty, 1.0, "realtime unavailable: last snapshot used"
            )
        )
    components = _with_degradations(components, degradations)
    score = _product(components)
    return Confidence(score, tuple(components), _explain(components, score), "product")


def combine(steps: Sequence[tuple[str, Confidence]]) -> Confidence:
    """The product of the steps' scores, each step a component."""
    components = [Component(f"step:{name}", conf.score, 1.0, conf.rationale) for name, conf in steps]
    score = _product(components)
    return Confidence(score, tuple(components), _explain(components, score), "product of steps")

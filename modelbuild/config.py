"""Settings of the model build; every field is part of the build's input fingerprint.

Layer: build tooling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ModelBuildSettings"]


@dataclass(frozen=True)
class ModelBuildSettings:
    """Fixed choices of the reference-model build.

    Attributes:
        seed: Seed of the one generator behind the OOD draw, the split and the snippets.
        train_share: Share of each label's articles used for training.
        validation_share: Share of each label's articles used for validation.
        max_tokens: Encoder input limit, special tokens included (the model's 256).
        ood_eval_reviews: Reviews drawn into the OOD evaluation set.
        other_training_size: Off-topic texts the OOD detector trains on.
        other_validation_size: Off-topic texts kept to check the gate.
        l2_grid: L2 strengths tried for the topic head, chosen by validation NLL.
        detector_l2: L2 strength of the OOD detector.
        shrinkage: Identity weight in the shared Mahalanobis covariance.
        bucket_starts: Token counts at which length buckets 2.. start.
        ood_quantile: Percentile of in-domain validation `ood_logit` admitted per bucket.
        mahalanobis_quantile: Percentile of in-domain validation distance admitted per bucket.
        nominal_confidence: Confidence level reported in the card and the lowest floor.
        target_error: Largest validation error among answered inputs per bucket.
        threads: onnxruntime intra-op threads while embedding.
        batch_size: Texts per encoder call while embedding.
    """

    seed: int = 42
    train_share: float = 0.70
    validation_share: float = 0.15
    max_tokens: int = 256
    ood_eval_reviews: int = 500
    other_training_size: int = 1600
    other_validation_size: int = 400
    l2_grid: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
    detector_l2: float = 0.01
    shrinkage: float = 0.1
    bucket_starts: tuple[int, ...] = (16, 48, 128)
    ood_quantile: float = 95.0
    mahalanobis_quantile: float = 99.0
    nominal_confidence: float = 0.85
    target_error: float = 0.01
    threads: int = 2
    batch_size: int = 32

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

"""Multinomial logistic regression in numpy, with L2 chosen and temperature fitted on validation.

Layer: build tooling (numpy only; no scikit-learn, whose scipy dependency adds about 200 MB).

Inputs are standardised for training and the scaling is folded back into the weights, so the
exported model applies one MatMul and one Add to raw embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LinearModel", "fit_logistic", "fit_temperature", "select_l2", "softmax"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LinearModel:
    """Affine map from embeddings to class logits: `x @ weight + bias`.

    Attributes:
        weight: (dim, classes) float64.
        bias: (classes,) float64.
        l2: The L2 strength it was trained with.
    """

    weight: FloatArray
    bias: FloatArray
    l2: float

    def logits(self, x: FloatArray) -> FloatArray:
        """Return logits of shape (n, classes) for embeddings of shape (n, dim)."""
        return np.asarray(x @ self.weight + self.bias, dtype=np.float64)


def softmax(logits: FloatArray) -> FloatArray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)


def _nll(logits: FloatArray, labels: IntArray) -> float:
    probs = softmax(logits)
    return float(-np.mean(np.log(probs[np.arange(len(labels)), labels] + 1e-12)))


def fit_logistic(
    x: FloatArray,
    labels: IntArray,
    classes: int,
    l2: float,
    sample_weight: FloatArray | None = None,
    steps: int = 500,
    learning_rate: float = 0.05,
) -> LinearModel:
    """Fit softmax regression by full-batch Adam from zero weights (deterministic).

    Args:
        x: (n, dim) inputs.
        labels: (n,) class indices in [0, classes).
        classes: Number of classes.
        l2: L2 penalty on the standardised weights (bias not penalised).
        sample_weight: Optional (n,) weights; normalised to sum to one.
        steps: Adam steps.
        learning_rate: Adam step size.

    Returns:
        The model, expressed on raw (unstandardised) inputs.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    weights = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weights = weights / weights.sum()
    targets = np.eye(classes)[labels]
    params = [np.zeros((x.shape[1], classes)), np.zeros(classes)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        residual = (softmax(z @ params[0] + params[1]) - targets) * weights[:, None]
        grads = [z.T @ residual + l2 * params[0], residual.sum(axis=0)]
        for i, grad in enumerate(grads):
            first[i] = beta1 * first[i] + (1 - beta1) * grad
            second[i] = beta2 * second[i] + (1 - beta2) * grad * grad
            m_hat = first[i] / (1 - beta1**step)
            v_hat = second[i] / (1 - beta2**step)
            params[i] = params[i] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    weight = params[0] / scale[:, None]
    bias = params[1] - mean @ weight
    return LinearModel(weight, bias, l2)


def select_l2(
    x_train: FloatArray,
    y_train: IntArray,
    x_validation: FloatArray,
    y_validation: IntArray,
    classes: int,
    grid: Sequence[float] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
) -> tuple[LinearModel, dict[float, float]]:
    """Fit one model per L2 value and keep the one with the lowest validation NLL.

    Returns:
        The chosen model and the validation NLL of every grid value.
    """
    scores: dict[float, float] = {}
    best: LinearModel | None = None
    for l2 in grid:
        model = fit_logistic(x_train, y_train, classes, l2)
        scores[l2] = _nll(model.logits(x_validation), y_validation)
        if best is None or scores[l2] < scores[best.l2]:
            best = model
    assert best is not None, "grid must not be empty"
    return best, scores


def fit_temperature(
    logits: FloatArray, labels: IntArray, low: float = 0.05, high: float = 20.0, points: int = 400
) -> float:
    """Return the temperature T minimising NLL of softmax(logits / T), searched on a log grid."""
    grid = np.exp(np.linspace(np.log(low), np.log(high), points))
    losses = [_nll(logits / t, labels) for t in grid]
    return float(grid[int(np.argmin(losses))])

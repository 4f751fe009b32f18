"""The served models: names, kinds, versions, labels, gate thresholds and cards, from the artifacts.

Layer: domain. Built once from a loaded artifacts directory (`domain_inference.artifacts`)
and shared by the service, both inference paths and the CLI. Public model names are the
artifact folder names ("text-encoder", "news-topic"); each maps to one Triton ensemble of
the same name (tokenise -> encode [-> classify]).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agentplane.errors import InvalidArgumentError, NotFoundError
from domain_inference.artifacts import ENCODER_DIR, TOPIC_DIR, ArtifactsError, GatePolicy, ModelArtifacts

__all__ = ["GateTable", "ModelCard", "ModelCatalog", "ModelKind", "ModelSpec"]


class ModelKind(enum.Enum):
    """What a model returns."""

    CLASSIFIER = "classifier"
    ENCODER = "encoder"


@dataclass(frozen=True)
class ModelCard:
    """A model card as served by ListModels.

    Attributes:
        description: One paragraph on what the model does.
        training_data: Where the training data came from.
        split: How train/validation/test were drawn.
        metrics: Headline figures, name -> value.
        markdown: The full card as Markdown.
        json: The full card as a JSON document.
    """

    description: str
    training_data: str
    split: str
    metrics: tuple[tuple[str, float], ...]
    markdown: str
    json: str


@dataclass(frozen=True)
class GateTable:
    """A gate policy as arrays indexed by bucket, built once so answering costs a few numpy calls.

    Attributes:
        starts: First token count of buckets 2.. (for `searchsorted`).
        confidence_scale: min(1, nominal / confidence_min) per bucket.
        ood_logit_max: Per bucket.
        mahalanobis_max: Per bucket (kept positive).
        nominal: The gate's nominal confidence.
    """

    starts: npt.NDArray[np.int64]
    confidence_scale: npt.NDArray[np.float64]
    ood_logit_max: npt.NDArray[np.float64]
    mahalanobis_max: npt.NDArray[np.float64]
    nominal: float

    @classmethod
    def from_policy(cls, gate: GatePolicy) -> GateTable:
        """Tabulate `gate`."""
        buckets = gate.buckets
        floors = np.array([b.confidence_min for b in buckets], dtype=np.float64)
        return cls(
            starts=np.array([b.min_tokens for b in buckets[1:]], dtype=np.int64),
            confidence_scale=np.minimum(1.0, gate.nominal_confidence / np.maximum(floors, 1e-12)),
            ood_logit_max=np.array([b.ood_logit_max for b in buckets], dtype=np.float64),
            mahalanobis_max=np.maximum(np.array([b.mahalanobis_max for b in buckets], dtype=np.float64), 1e-12),
            nominal=gate.nominal_confidence,
        )


@dataclass(frozen=True)
class ModelSpec:
    """One served model.

    Attributes:
        name: Public name, also the Triton ensemble's name.
        kind: Classifier or encoder.
        version: Version reported with every result.
        max_tokens: Texts are cut at this many tokens (special tokens included).
        embedding_dimensions: Width of the encoder's embedding.
        labels: Class names in output order (classifiers).
        gate: Answer-or-escalate thresholds per token-count bucket (classifiers).
        card: The model card.
        gate_table: `gate` as arrays (filled in from `gate`).
    """

    name: str
    kind: ModelKind
    version: str
    max_tokens: int
    embedding_dimensions: int
    labels: tuple[str, ...] = ()
    gate: GatePolicy | None = None
    card: ModelCard | None = None
    gate_table: GateTable | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.gate is not None and self.gate_table is None:
            object.__setattr__(self, "gate_table", GateTable.from_policy(self.gate))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _metrics(card: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    raw = card.get("metrics") or {
        key: card[key] for key in ("evaluation", "parity_with_torch") if isinstance(card.get(key), Mapping)
    }
    found: list[tuple[str, float]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            found.append((prefix, float(value)))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)

    walk("", raw)
    return tuple(found)


def _card(root: Path, folder: str, card: Mapping[str, Any]) -> ModelCard:
    markdown_path = root / folder / "model_card.md"
    data = card.get("data", {})
    data = data if isinstance(data, Mapping) else {}
    return ModelCard(
        description=_text(card.get("description")),
        training_data=_text(card.get("training_data") or {k: v for k, v in data.items() if "split" not in k} or None),
        split=_text(card.get("split") or data.get("split")),
        metrics=_metrics(card),
        markdown=markdown_path.read_text(encoding="utf-8") if markdown_path.is_file() else "",
        json=json.dumps(card, ensure_ascii=False, indent=2),
    )


def _version(metadata: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    for source in (metadata, manifest):
        value = source.get("version")
        if value:
            return str(value)
    key = manifest.get("input_key")
    return f"1-{str(key)[:12]}" if key else "1"


class ModelCatalog:
    """The served models, by public name.

    Args:
        models: Every model spec.
    """

    def __init__(self, models: tuple[ModelSpec, ...]) -> None:
        self._models = {m.name: m for m in models}

    @classmethod
    def from_artifacts(cls, artifacts: ModelArtifacts) -> ModelCatalog:
        """Describe the models of a loaded artifacts directory."""
        max_tokens = artifacts.encoder.tokenizer_settings.max_length
        dims = artifacts.encoder.embedding_dim
        encoder = ModelSpec(
            name=ENCODER_DIR,
            kind=ModelKind.ENCODER,
            version=_version(artifacts.encoder.metadata, artifacts.manifest),
            max_tokens=max_tokens,
            embedding_dimensions=dims,
            card=_card(artifacts.root, ENCODER_DIR, _safe_card(artifacts, ENCODER_DIR)),
        )
        topic = ModelSpec(
            name=TOPIC_DIR,
            kind=ModelKind.CLASSIFIER,
            version=_version(artifacts.topic.metadata, artifacts.manifest),
            max_tokens=max_tokens,
            embedding_dimensions=dims,
            labels=artifacts.topic.labels,
            gate=artifacts.topic.gate,
            card=_card(artifacts.root, TOPIC_DIR, _safe_card(artifacts, TOPIC_DIR)),
        )
        return cls((encoder, topic))

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        """Every model, in name order."""
        return tuple(self._models[name] for name in sorted(self._models))

    def get(self, name: str, kind: ModelKind) -> ModelSpec:
        """The model called `name`, which must be of `kind`.

        Raises:
            NotFoundError: No model has that name.
            InvalidArgumentError: The model exists but is of another kind.
        """
        spec = self._models.get(name)
        if spec is None:
            known = ", ".join(sorted(self._models)) or "none (run `agentplane models build`)"
            raise NotFoundError(
                f"model {name!r} is not served; known models: {known}",
                reason="MODEL_NOT_FOUND",
                metadata={"model": name},
            )
        if spec.kind is not kind:
            rpc = "Classify" if spec.kind is ModelKind.CLASSIFIER else "Embed"
            raise InvalidArgumentError(
                f"model {name!r} is a {spec.kind.value}; call {rpc} with it",
                reason="WRONG_MODEL_KIND",
                metadata={"model": name, "kind": spec.kind.value},
            )
        return spec


def _safe_card(artifacts: ModelArtifacts, name: str) -> Mapping[str, Any]:
    try:
        return artifacts.card(name)
    except ArtifactsError:  # a missing card must not stop serving; ListModels then shows an empty card
        return {}

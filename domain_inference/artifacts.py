"""Serving-side view of the built model artifacts: paths, labels, thresholds and cards.

Layer: domain (serving side). Reads JSON and hashes files; imports no onnxruntime, torch or
transformers. The layout constants here are the one definition that the build writes to.

Layout of an artifacts directory::

    manifest.json                 input hashes, output hashes and sizes, build facts
    text-encoder/model.onnx       input_ids, attention_mask -> sentence_embedding
    text-encoder/tokenizer.json   as shipped; apply metadata.json "tokenizer" settings
    text-encoder/metadata.json
    text-encoder/model_card.{json,md}
    news-topic/model.onnx         embedding -> logits, probs, centroid_cos, mahalanobis, ood_logit
    news-topic/metadata.json      labels, temperature, gate policy
    news-topic/model_card.{json,md}
    eval/news_test.jsonl          held-out articles
    eval/news_test_short.jsonl    titles, sentences and word windows of the held-out articles
    eval/ood_eval.jsonl           OOD evaluation set (movie reviews and plot synopses)
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from domain_inference.tokenization import TokenizerSettings

__all__ = [
    "ARTIFACT_FORMAT",
    "ArtifactsError",
    "ArtifactsInvalidError",
    "ArtifactsMissingError",
    "EncoderArtifacts",
    "GateBucket",
    "GatePolicy",
    "ModelArtifacts",
    "TopicArtifacts",
    "load_artifacts",
    "read_manifest",
]

ARTIFACT_FORMAT = 1
MANIFEST = "manifest.json"
ENCODER_DIR = "text-encoder"
TOPIC_DIR = "news-topic"
EVAL_DIR = "eval"
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
TOKENIZER_FILE = "tokenizer.json"
CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
NEWS_TEST = "news_test.jsonl"
NEWS_TEST_SHORT = "news_test_short.jsonl"
OOD_EVAL = "ood_eval.jsonl"
BUILD_HINT = "run `agentplane models build` (or `python -m modelbuild --out DIR`)"


class ArtifactsError(RuntimeError):
    """The model artifacts cannot be used."""


class ArtifactsMissingError(ArtifactsError):
    """The artifacts directory, its manifest or a listed file does not exist."""


class ArtifactsInvalidError(ArtifactsError):
    """The artifacts exist but disagree with their manifest or are malformed."""


@dataclass(frozen=True)
class GateBucket:
    """Thresholds for inputs whose token count falls in [min_tokens, max_tokens].

    Attributes:
        name: Human-readable range, e.g. "16-47".
        min_tokens: Smallest token count in the bucket (special tokens included).
        max_tokens: Largest token count in the bucket, or None for no limit.
        confidence_min: Smallest calibrated max-probability that may be answered.
        ood_logit_max: Largest `ood_logit` that counts as in domain.
        mahalanobis_max: Largest `mahalanobis` distance that counts as in domain.
    """

    name: str
    min_tokens: int
    max_tokens: int | None
    confidence_min: float
    ood_logit_max: float
    mahalanobis_max: float

    def contains(self, token_count: int) -> bool:
        """Whether `token_count` falls in this bucket."""
        return token_count >= self.min_tokens and (self.max_tokens is None or token_count <= self.max_tokens)


@dataclass(frozen=True)
class GatePolicy:
    """When the topic model may answer; everything else is escalated.

    Answer iff, for the bucket of the input's token count, `max(probs) >= confidence_min`,
    `ood_logit <= ood_logit_max` and `mahalanobis <= mahalanobis_max`.

    Attributes:
        buckets: Contiguous token-count buckets, ascending, covering every count >= 0.
        nominal_confidence: The fixed confidence level the model card reports against.
    """

    buckets: tuple[GateBucket, ...]
    nominal_confidence: float

    def bucket_for(self, token_count: int) -> GateBucket:
        """Return the bucket holding `token_count`.

        Raises:
            ValueError: No bucket holds it (negative count).
        """
        for bucket in self.buckets:
            if bucket.contains(token_count):
                return bucket
        raise ValueError(f"no gate bucket for token count {token_count}")

    def in_domain(self, ood_logit: float, mahalanobis: float, token_count: int) -> bool:
        """Whether the OOD scores of one input pass its bucket's thresholds."""
        bucket = self.bucket_for(token_count)
        return ood_logit <= bucket.ood_logit_max and mahalanobis <= bucket.mahalanobis_max

    def admits(self, confidence: float, ood_logit: float, mahalanobis: float, token_count: int) -> bool:
        """Whether the model may answer one input rather than escalate it."""
        bucket = self.bucket_for(token_count)
        return confidence >= bucket.confidence_min and self.in_domain(ood_logit, mahalanobis, token_count)

    def to_dict(self) -> dict[str, Any]:
        """Return the policy as a JSON-ready dict."""
        return {
            "nominal_confidence": self.nominal_confidence,
            "rule": (
                "answer iff max(probs) >= confidence_min and ood_logit <= ood_logit_max and "
                "mahalanobis <= mahalanobis_max, for the bucket of the input's token count "
                "(special tokens included, after truncation); otherwise escalate"
            ),
            "buckets": [asdict(b) for b in self.buckets],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GatePolicy:
        """Build a policy from `to_dict` output.

        Raises:
            ValueError: The buckets are empty, unordered or leave gaps.
        """
        buckets = tuple(GateBucket(**b) for b in data["buckets"])
        if not buckets or buckets[0].min_tokens != 0 or buckets[-1].max_tokens is not None:
            raise ValueError("gate buckets must start at 0 tokens and end unbounded")
        for before, after in itertools.pairwise(buckets):
            if before.max_tokens is None or after.min_tokens != before.max_tokens + 1:
                raise ValueError(f"gate buckets {before.name} and {after.name} are not contiguous")
        return cls(buckets, float(data["nominal_confidence"]))


@dataclass(frozen=True)
class EncoderArtifacts:
    """The text encoder and how to feed it.

    Attributes:
        model_path: ONNX graph.
        tokenizer_path: `tokenizer.json`; apply `tokenizer_settings`, not its own.
        tokenizer_settings: Truncation and padding to apply.
        input_names: Graph inputs, all int64 [batch, seq].
        output_name: Graph output, float32 [batch, embedding_dim], unit norm.
        embedding_dim: Width of the embedding.
        metadata: The full metadata.json.
    """

    model_path: Path
    tokenizer_path: Path
    tokenizer_settings: TokenizerSettings
    input_names: tuple[str, ...]
    output_name: str
    embedding_dim: int
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class TopicArtifacts:
    """The topic head and its decision thresholds.

    Attributes:
        model_path: ONNX graph taking `input_name` float32 [batch, embedding_dim].
        input_name: Graph input.
        output_names: Graph outputs.
        labels: Class names in logit order.
        temperature: T in probs = softmax(logits / T), already applied inside the graph.
        gate: Answer-or-escalate thresholds.
        metadata: The full metadata.json.
    """

    model_path: Path
    input_name: str
    output_names: tuple[str, ...]
    labels: tuple[str, ...]
    temperature: float
    gate: GatePolicy
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class ModelArtifacts:
    """A validated artifacts directory.

    Attributes:
        root: The directory.
        manifest: manifest.json contents.
        encoder: The text encoder.
        topic: The topic head.
        eval_dir: Folder of the held-out JSONL sets.
    """

    root: Path
    manifest: Mapping[str, Any]
    encoder: EncoderArtifacts
    topic: TopicArtifacts
    eval_dir: Path

    @property
    def news_test_path(self) -> Path:
        """Held-out test articles (JSONL: id, text, label)."""
        return self.eval_dir / NEWS_TEST

    @property
    def news_test_short_path(self) -> Path:
        """Short pieces of the held-out articles (JSONL: id, text, label, kind)."""
        return self.eval_dir / NEWS_TEST_SHORT

    @property
    def ood_eval_path(self) -> Path:
        """OOD evaluation set (JSONL: id, text, label "out_of_domain", kind)."""
        return self.eval_dir / OOD_EVAL

    def card(self, model: str) -> dict[str, Any]:
        """Return the JSON model card of `model` ("text-encoder" or "news-topic").

        Raises:
            ArtifactsMissingError: There is no such card.
        """
        return _read_json(self.root / model / CARD_JSON)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ArtifactsMissingError(f"{path} is missing; {BUILD_HINT}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactsInvalidError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ArtifactsInvalidError(f"{path} does not hold a JSON object")
    return data


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(root: Path, verify_hashes: bool = False) -> dict[str, Any]:
    """Read and check `root/manifest.json` against the files it lists.

    Args:
        root: Artifacts directory.
        verify_hashes: Also compare every output's sha256 (reads every byte, about 0.3 s);
            otherwise only presence and size are checked.

    Returns:
        The manifest.

    Raises:
        ArtifactsMissingError: The directory, manifest or a listed output is missing.
        ArtifactsInvalidError: The format is unknown, or a size or hash differs.
    """
    if not root.is_dir():
        raise ArtifactsMissingError(f"model artifacts directory {root} does not exist; {BUILD_HINT}")
    manifest = _read_json(root / MANIFEST)
    if manifest.get("format") != ARTIFACT_FORMAT:
        raise ArtifactsInvalidError(
            f"{root / MANIFEST} has format {manifest.get('format')!r}, expected {ARTIFACT_FORMAT}; {BUILD_HINT}"
        )
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        raise ArtifactsInvalidError(f"{root / MANIFEST} lists no outputs; {BUILD_HINT}")
    for relative, entry in sorted(outputs.items()):
        path = root / relative
        if not path.is_file():
            raise ArtifactsMissingError(f"{path} is listed in the manifest but missing; {BUILD_HINT}")
        if path.stat().st_size != entry["bytes"]:
            raise ArtifactsInvalidError(f"{path} has {path.stat().st_size} bytes, manifest says {entry['bytes']}")
        if verify_hashes and _sha256(path) != entry["sha256"]:
            raise ArtifactsInvalidError(f"{path} does not match its sha256 in the manifest; {BUILD_HINT}")
    return manifest


def _names(entries: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(str(e["name"]) for e in entries)


def load_artifacts(root: Path, verify_hashes: bool = False) -> ModelArtifacts:
    """Load and validate an artifacts directory.

    Args:
        root: Artifacts directory, by default `<data_dir>/models`.
        verify_hashes: Also check every file's sha256 against the manifest.

    Returns:
        Paths, settings, labels and thresholds of both models.

    Raises:
        ArtifactsMissingError: Something is missing; the message says how to build it.
        ArtifactsInvalidError: Something is inconsistent or malformed.
    """
    manifest = read_manifest(root, verify_hashes=verify_hashes)
    encoder_meta = _read_json(root / ENCODER_DIR / METADATA_FILE)
    topic_meta = _read_json(root / TOPIC_DIR / METADATA_FILE)
    try:
        encoder = EncoderArtifacts(
            model_path=root / ENCODER_DIR / encoder_meta["file"],
            tokenizer_path=root / ENCODER_DIR / encoder_meta["tokenizer"]["file"],
            tokenizer_settings=TokenizerSettings.from_dict(encoder_meta["tokenizer"]["settings"]),
            input_names=_names(encoder_meta["inputs"]),
            output_name=str(encoder_meta["outputs"][0]["name"]),
            embedding_dim=int(encoder_meta["embedding_dim"]),
            metadata=encoder_meta,
        )
        topic = TopicArtifacts(
            model_path=root / TOPIC_DIR / topic_meta["file"],
            input_name=str(topic_meta["inputs"][0]["name"]),
            output_names=_names(topic_meta["outputs"]),
            labels=tuple(topic_meta["labels"]),
            temperature=float(topic_meta["temperature"]),
            gate=GatePolicy.from_dict(topic_meta["gate"]),
            metadata=topic_meta,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactsInvalidError(f"malformed model metadata in {root}: {exc!r}; {BUILD_HINT}") from exc
    for path in (encoder.model_path, encoder.tokenizer_path, topic.model_path):
        if not path.is_file():
            raise ArtifactsMissingError(f"{path} is missing; {BUILD_HINT}")
    return ModelArtifacts(root, manifest, encoder, topic, root / EVAL_DIR)

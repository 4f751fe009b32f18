"""Tests for the model build and the serving-side artifacts loader, on real built artifacts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from domain_inference import artifacts as artifacts_module
from domain_inference.artifacts import (
    ArtifactsInvalidError,
    ArtifactsMissingError,
    GatePolicy,
    ModelArtifacts,
    load_artifacts,
)
from domain_inference.tokenization import TextTokenizer
from modelbuild import builder
from modelbuild.builder import build_models, current_input_key
from modelbuild.config import ModelBuildSettings
from modelbuild.corpus import LABELS, normalise_text
from modelbuild.dataset import prepare_data
from modelbuild.encoder_export import check_parity, parity_texts
from modelbuild.metrics import auroc, expected_calibration_error, macro_f1
from modelbuild.sources import BuildSources, locate_sources

ort = pytest.importorskip("onnxruntime")
SCORES = ("max_softmax", "energy", "centroid_cos", "mahalanobis", "ood_logit")


def _session(path: Path) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def served(artifacts: ModelArtifacts) -> Any:
    """A function running tokenizer, encoder and head on texts, as serving will."""
    tokenizer = TextTokenizer.from_file(artifacts.encoder.tokenizer_path, artifacts.encoder.tokenizer_settings)
    encoder = _session(artifacts.encoder.model_path)
    head = _session(artifacts.topic.model_path)

    def run(texts: Sequence[str]) -> tuple[dict[str, np.ndarray[Any, Any]], tuple[int, ...]]:
        batch = tokenizer.encode(texts)
        feed = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        embedding = encoder.run([artifacts.encoder.output_name], feed)[0]
        outputs = head.run(list(artifacts.topic.output_names), {artifacts.topic.input_name: embedding})
        return dict(zip(artifacts.topic.output_names, outputs, strict=True)), batch.token_counts

    return run


def test_manifest_matches_current_inputs(artifacts: ModelArtifacts) -> None:
    assert artifacts.manifest["input_key"] == current_input_key()
    listed = set(artifacts.manifest["outputs"])
    expected = {
        "text-encoder/model.onnx",
        "text-encoder/tokenizer.json",
        "text-encoder/metadata.json",
        "news-topic/model.onnx",
        "news-topic/metadata.json",
        "eval/news_test.jsonl",
        "eval/news_test_short.jsonl",
        "eval/ood_eval.jsonl",
    }
    assert expected <= listed
    for model in ("text-encoder", "news-topic"):
        assert {f"{model}/model_card.json", f"{model}/model_card.md"} <= listed


def test_second_build_is_a_no_op(artifacts_dir: Path) -> None:
    manifest_before = (artifacts_dir / "manifest.json").read_bytes()
    result = build_models(artifacts_dir)
    assert not result.built
    assert (artifacts_dir / "manifest.json").read_bytes() == manifest_before
    assert not list(artifacts_dir.parent.glob(f".{artifacts_dir.name}.tmp-*"))


def test_encoder_parity_with_torch(artifacts: ModelArtifacts) -> None:
    pytest.importorskip("torch")
    recorded = artifacts.encoder.metadata["parity"]
    assert recorded["max_abs_diff"] <= 1e-4 and recorded["texts"] >= 40
    tokenizer = TextTokenizer.from_file(artifacts.encoder.tokenizer_path, artifacts.encoder.tokenizer_settings)
    articles = [row["text"] for row in _read_jsonl(artifacts.news_test_path)[::40]]
    reviews = [row["text"] for row in _read_jsonl(artifacts.ood_eval_path)[:5]]
    report = check_parity(
        locate_sources().minilm_dir, _session(artifacts.encoder.model_path), tokenizer, parity_texts(articles, reviews)
    )
    assert report.max_abs_diff <= 1e-4
    assert report.min_cosine > 0.9999


def test_held_out_articles_are_labelled_correctly(artifacts: ModelArtifacts, served: Any) -> None:
    rows = _read_jsonl(artifacts.news_test_path)
    sample = [row for label in LABELS for row in [r for r in rows if r["label"] == label][:8]]
    outputs, counts = served([row["text"] for row in sample])
    labels = artifacts.topic.labels
    predicted = [labels[i] for i in outputs["probs"].argmax(axis=1)]
    truth = [row["label"] for row in sample]
    assert np.mean([p == t for p, t in zip(predicted, truth, strict=True)]) >= 0.9
    gate = artifacts.topic.gate
    answered = [
        (p, t)
        for p, t, probs, ood, maha, n in zip(
            predicted, truth, outputs["probs"], outputs["ood_logit"], outputs["mahalanobis"], counts, strict=True
        )
        if gate.admits(float(probs.max()), float(ood), float(maha), n)
    ]
    assert len(answered) >= 0.7 * len(sample)
    assert all(p == t for p, t in answered)


def test_out_of_domain_reviews_are_escalated(artifacts: ModelArtifacts, served: Any) -> None:
    rows = [r for r in _read_jsonl(artifacts.ood_eval_path) if r["kind"] == "review"][:100]
    outputs, counts = served([r["text"] for r in rows])
    gate = artifacts.topic.gate
    admitted = [
        gate.admits(float(p.max()), float(o), float(m), n)
        for p, o, m, n in zip(outputs["probs"], outputs["ood_logit"], outputs["mahalanobis"], counts, strict=True)
    ]
    assert np.mean(admitted) <= 0.05


def test_head_outputs_are_consistent(artifacts: ModelArtifacts) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, artifacts.encoder.embedding_dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    outputs = dict(
        zip(artifacts.topic.output_names, _session(artifacts.topic.model_path).run(None, {"embedding": x}), strict=True)
    )
    assert outputs["logits"].shape == outputs["probs"].shape == outputs["centroid_cos"].shape == (7, len(LABELS))
    assert outputs["mahalanobis"].shape == outputs["ood_logit"].shape == (7,)
    scaled = outputs["logits"] / artifacts.topic.temperature
    expected = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(outputs["probs"], expected, atol=1e-6)
    assert (np.abs(outputs["centroid_cos"]) <= 1 + 1e-5).all() and (outputs["mahalanobis"] >= 0).all()


def test_metadata_round_trips(artifacts: ModelArtifacts) -> None:
    onnx = pytest.importorskip("onnx")
    model = onnx.load_model(str(artifacts.topic.model_path), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    assert tuple(json.loads(props["labels"])) == artifacts.topic.labels == LABELS
    assert float(props["temperature"]) == artifacts.topic.temperature
    assert GatePolicy.from_dict(json.loads(props["gate"])) == artifacts.topic.gate
    assert GatePolicy.from_dict(artifacts.topic.gate.to_dict()) == artifacts.topic.gate
    outputs = [o.name for o in model.graph.output]
    assert outputs == list(artifacts.topic.output_names)
    assert outputs[:4] == ["logits", "probs", "centroid_cos", "mahalanobis"]
    encoder = onnx.load_model(str(artifacts.encoder.model_path), load_external_data=False)
    assert [i.name for i in encoder.graph.input] == list(artifacts.encoder.input_names)
    assert encoder.opset_import[0].version == 17


def test_gate_policy_buckets_cover_every_length(artifacts: ModelArtifacts) -> None:
    gate = artifacts.topic.gate
    for count in (0, 2, 15, 16, 47, 48, 127, 128, 256, 10_000):
        assert gate.bucket_for(count).contains(count)
    assert gate.bucket_for(256).confidence_min >= gate.nominal_confidence


def test_cards_report_required_figures(artifacts: ModelArtifacts) -> None:
    card = artifacts.card("news-topic")
    test = card["evaluation"]["test_articles"]
    for key in (
        "accuracy",
        "macro_f1",
        "ece_15",
        "nll",
        "at_nominal_confidence",
        "at_nominal_confidence_with_ood_gate",
    ):
        assert key in test
    assert test["accuracy"] >= 0.93 and test["macro_f1"] >= 0.93
    aurocs = card["evaluation"]["out_of_domain"]["auroc"]["ood_reviews_vs_test_articles"]
    assert set(aurocs) == set(SCORES) and aurocs["mahalanobis"] >= 0.9
    assert card["data"]["split"] == {"seed": 42, "train": 1486, "validation": 317, "test": 321}
    assert card["input_hashes"]["bbc_corpus"]["files"] == 2225 and card["build_seconds"] > 0
    assert "parity_with_torch" in artifacts.card("text-encoder")
    for model in ("text-encoder", "news-topic"):
        assert (artifacts.root / model / "model_card.md").read_text(encoding="utf-8").startswith("# Model card")


def test_eval_sets_are_held_out(artifacts: ModelArtifacts) -> None:
    data = prepare_data(locate_sources(), ModelBuildSettings())
    test_rows = _read_jsonl(artifacts.news_test_path)
    assert [r["id"] for r in test_rows] == [d.doc_id for d in data.split.test]
    seen_in_training = {normalise_text(d.text) for d in (*data.split.train, *data.split.validation)}
    assert not seen_in_training & {normalise_text(r["text"]) for r in test_rows}
    ood_rows = _read_jsonl(artifacts.ood_eval_path)
    assert {r["label"] for r in ood_rows} == {"out_of_domain"} and len(ood_rows) == 656
    evaluation = {normalise_text(r["text"]) for r in ood_rows}
    fitted = [*data.off_topic.training, *data.off_topic.validation]
    assert not evaluation & {normalise_text(t.text) for t in fitted}
    assert not {t.movie for t in data.off_topic.evaluation} & {t.movie for t in fitted}


def test_missing_artifacts_say_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(ArtifactsMissingError, match="agentplane models build"):
        load_artifacts(tmp_path / "models")


def test_changed_output_is_detected(tmp_path: Path, artifacts_dir: Path) -> None:
    root = tmp_path / "models"
    shutil.copytree(artifacts_dir, root, ignore=shutil.ignore_patterns("model.onnx"))
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["outputs"] = {k: v for k, v in manifest["outputs"].items() if not k.endswith("model.onnx")}
    (root / "manifest.json").write_text(json.dumps(manifest))
    card = root / "news-topic" / "model_card.json"
    card.write_bytes(card.read_bytes().replace(b"news-topic", b"news-topix"))
    with pytest.raises(ArtifactsInvalidError, match="sha256"):
        artifacts_module.read_manifest(root, verify_hashes=True)


def _fake_pipeline(fail: bool) -> Any:
    def run(
        sources: BuildSources, folder: Path, settings: ModelBuildSettings, inputs: Any, context: Any
    ) -> dict[str, Any]:
        folder.mkdir(parents=True)
        (folder / "artifact.txt").write_text(str(settings.seed))
        if fail:
            raise RuntimeError("simulated crash")
        return {"fake": True}

    return run


def test_force_rebuilds_and_a_crash_keeps_the_previous_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "models"
    monkeypatch.setattr(builder, "run_pipeline", _fake_pipeline(fail=False))
    assert build_models(out_dir).built
    first = (out_dir / "manifest.json").read_bytes()
    assert not build_models(out_dir).built
    assert build_models(out_dir, force=True).built
    (out_dir / "artifact.txt").write_text("tampered")
    assert build_models(out_dir).built, "an output that no longer matches its hash triggers a rebuild"
    monkeypatch.setattr(builder, "run_pipeline", _fake_pipeline(fail=True))
    kept = (out_dir / "manifest.json").read_bytes()
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_models(out_dir, force=True)
    assert (out_dir / "manifest.json").read_bytes() == kept and json.loads(first)["format"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".models.lock", "models"]


def test_refuses_to_replace_a_directory_it_did_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("keep me")
    monkeypatch.setattr(builder, "run_pipeline", _fake_pipeline(fail=False))
    with pytest.raises(builder.ForeignDirectoryError):
        build_models(out_dir, force=True)
    assert (out_dir / "notes.txt").read_text() == "keep me"


def test_metrics_on_known_values() -> None:
    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.5
    probs = np.array([[0.9, 0.1], [0.6, 0.4]])
    assert expected_calibration_error(probs, np.array([0, 1]), 15) == pytest.approx(0.5 * 0.1 + 0.5 * 0.6)
    assert macro_f1(np.array([0, 1, 1]), np.array([0, 1, 0]), 2) == pytest.approx((2 / 3 + 2 / 3) / 2)

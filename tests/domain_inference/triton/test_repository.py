"""The repository generator writes well-formed configs (parsed with Triton's own schema) for both targets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from domain_inference.config import EncoderStepSettings, RepositorySettings
from domain_inference.triton.repository import (
    ENCODER,
    HEAD,
    MARKER,
    TOKENIZER,
    RepositoryOptions,
    Target,
    write_repository,
)

MODELS = {TOKENIZER, ENCODER, HEAD, "news-topic", "text-encoder"}


def _read(path: Path) -> mc.ModelConfig:
    return text_format.Parse(path.read_text(), mc.ModelConfig())


def _check_ensemble(config: mc.ModelConfig, configs: dict[str, mc.ModelConfig]) -> None:
    """Every step input exists when the step runs; every ensemble output is produced; tensors exist."""
    available = {t.name for t in config.input}
    for step in config.ensemble_scheduling.step:
        model = configs[step.model_name]
        assert set(step.input_map) == {t.name for t in model.input}, step.model_name
        assert set(step.input_map.values()) <= available, step.model_name
        assert set(step.output_map) <= {t.name for t in model.output}, step.model_name
        available |= set(step.output_map.values())
    assert {t.name for t in config.output} <= available


def test_python_target(artifacts, tmp_path: Path) -> None:
    settings = RepositorySettings(
        encoder=EncoderStepSettings(preferred_batch_sizes=(8, 32), max_queue_delay_us=1500, threads=2)
    )
    written = write_repository(artifacts, tmp_path / "repo", settings)
    assert set(written) == MODELS
    configs = {name: _read(path) for name, path in written.items()}
    for name in MODELS:
        assert configs[name].name == name
        assert (tmp_path / "repo" / name / "1").is_dir()
    encoder = configs[ENCODER]
    assert encoder.backend == "python" and encoder.max_batch_size == 64
    assert list(encoder.dynamic_batching.preferred_batch_size) == [8, 32]
    assert encoder.dynamic_batching.max_queue_delay_microseconds == 1500
    assert all(t.allow_ragged_batch for t in encoder.input), "requests of any length must batch together"
    assert encoder.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    assert encoder.instance_group[0].count == 2
    assert encoder.version_policy.latest.num_versions == 1
    assert Path(encoder.parameters["onnx_file"].string_value) == artifacts.encoder.model_path.resolve()
    assert encoder.parameters["intra_op_threads"].string_value == "2"
    head = configs[HEAD]
    dims = {t.name: list(t.dims) for t in head.output}
    assert dims["probs"] == [len(artifacts.topic.labels)] and dims["mahalanobis"] == [1]
    for name in (TOKENIZER, ENCODER, HEAD):
        shim = (tmp_path / "repo" / name / "1" / "model.py").read_text()
        module = shim.split("from ")[1].split(" import")[0]
        assert importlib.util.find_spec(module) is not None, module
    topic = configs["news-topic"]
    assert topic.platform == "ensemble"
    assert [s.model_name for s in topic.ensemble_scheduling.step] == [TOKENIZER, ENCODER, HEAD]
    assert [s.model_name for s in configs["text-encoder"].ensemble_scheduling.step] == [TOKENIZER, ENCODER]
    for name in ("news-topic", "text-encoder"):
        _check_ensemble(configs[name], configs)
    assert (tmp_path / "repo" / MARKER).exists()


def test_dynamic_batching_off_leaves_no_batcher(artifacts, tmp_path: Path) -> None:
    written = write_repository(artifacts, tmp_path / "repo", RepositorySettings(dynamic_batching=False))
    for name in (TOKENIZER, ENCODER, HEAD):
        assert not _read(written[name]).HasField("dynamic_batching"), name


def test_full_target_with_onnxruntime(artifacts, tmp_path: Path) -> None:
    out = tmp_path / "repo"
    written = write_repository(artifacts, out, RepositorySettings(), RepositoryOptions(target=Target.FULL))
    configs = {name: _read(path) for name, path in written.items()}
    encoder, head, tokenizer = configs[ENCODER], configs[HEAD], configs[TOKENIZER]
    assert encoder.platform == "onnxruntime_onnx" and not encoder.backend
    assert not any(t.allow_ragged_batch for t in encoder.input), "native backends batch equal shapes only"
    assert encoder.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    assert (out / ENCODER / "1" / "model.onnx").stat().st_size == artifacts.encoder.model_path.stat().st_size
    assert head.platform == "onnxruntime_onnx" and (out / HEAD / "1" / "model.onnx").is_file()
    reshaped = {t.name for t in head.output if t.HasField("reshape")}
    assert reshaped == {"mahalanobis", "ood_logit"}, "rank-1 graph outputs need dims [1] with an empty reshape"
    assert tokenizer.backend == "python"
    assert tokenizer.parameters["pad_to_multiple_of"].string_value == "32"
    assert tokenizer.parameters["tokenizer_file"].string_value == "tokenizer.json"
    assert (out / TOKENIZER / "1" / "tokenizer.json").is_file()
    assert not (out / ENCODER / "1" / "model.py").exists()
    for name in ("news-topic", "text-encoder"):
        _check_ensemble(configs[name], configs)


def test_full_target_with_tensorrt_plan(artifacts, tmp_path: Path) -> None:
    plan = tmp_path / "encoder.plan"
    plan.write_bytes(b"engine")
    options = RepositoryOptions(target=Target.FULL, tensorrt_plan=plan, gpu=True)
    written = write_repository(artifacts, tmp_path / "repo", RepositorySettings(), options)
    encoder = _read(written[ENCODER])
    assert encoder.platform == "tensorrt_plan" and encoder.default_model_filename == "model.plan"
    assert (tmp_path / "repo" / ENCODER / "1" / "model.plan").read_bytes() == b"engine"


def test_refuses_to_clear_a_directory_it_did_not_write(artifacts, tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not generated here"):
        write_repository(artifacts, out, RepositorySettings())
    assert (out / "notes.txt").read_text() == "keep me"


def test_rewriting_replaces_the_previous_repository(artifacts, tmp_path: Path) -> None:
    out = tmp_path / "repo"
    write_repository(artifacts, out, RepositorySettings(), RepositoryOptions(target=Target.FULL))
    write_repository(artifacts, out, RepositorySettings())
    assert not (out / ENCODER / "1" / "model.onnx").exists()
    assert (out / ENCODER / "1" / "model.py").exists()

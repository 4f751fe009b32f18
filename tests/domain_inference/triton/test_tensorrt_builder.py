"""Without TensorRT or a GPU (as here) the engine builder skips and says exactly why."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain_inference.triton import tensorrt_builder
from domain_inference.triton.tensorrt_builder import build_engine, gpu_count, skip_reason


def test_gpu_count_explains_a_zero() -> None:
    count, why = gpu_count()
    assert count >= 0
    if count == 0:
        assert "libcuda" in why or "driver" in why or "device" in why


def test_build_skips_with_a_clear_reason_here(tmp_path: Path) -> None:
    reason = skip_reason()
    if not reason:
        pytest.skip("TensorRT and a GPU are present; the skip path does not apply")
    result = build_engine(tmp_path / "missing.onnx", tmp_path / "encoder.plan")
    assert result.plan_path is None
    assert result.skipped == reason
    assert ("tensorrt" in reason.lower()) or ("gpu" in reason.lower()) or ("driver" in reason.lower())
    assert result.describe().startswith("TensorRT engine build skipped: ")
    assert not (tmp_path / "encoder.plan").exists()


def test_cli_prints_the_reason_and_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not skip_reason():
        pytest.skip("TensorRT and a GPU are present")
    code = tensorrt_builder.main(["--onnx", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "e.plan")])
    assert code == 0
    assert "skipped" in capsys.readouterr().out

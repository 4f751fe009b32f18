"""Build an FP16 TensorRT engine of the text encoder from the same ONNX, when TensorRT and a GPU exist.

Layer: deployment tooling for target (b), a full Triton with `tensorrt_plan` models. It builds
only when `tensorrt` imports and a CUDA device is visible; otherwise it returns (and the CLI
prints) the exact reason it skipped, and the repository falls back to `onnxruntime_onnx`.

Run `python -m domain_inference.triton.tensorrt_builder --onnx MODEL.onnx --out encoder.plan`.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain_inference.config import RepositorySettings

__all__ = ["EngineBuild", "build_engine", "gpu_count", "skip_reason"]

WORKSPACE_BYTES = 1 << 30


@dataclass(frozen=True)
class EngineBuild:
    """The outcome of one build attempt.

    Attributes:
        plan_path: The engine written, or None when skipped.
        skipped: Why nothing was built ("" when built).
        precision: "fp16" when built.
    """

    plan_path: Path | None
    skipped: str = ""
    precision: str = ""

    def describe(self) -> str:
        """One line for logs and the CLI."""
        if self.plan_path is None:
            return f"TensorRT engine build skipped: {self.skipped}"
        return f"TensorRT {self.precision} engine written to {self.plan_path}"


def gpu_count() -> tuple[int, str]:
    """CUDA devices visible through the driver API, and why none are when 0.

    Returns:
        (count, reason) where reason explains a 0 count.
    """
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        return 0, f"no NVIDIA driver (libcuda.so.1 not loadable: {exc})"
    if cuda.cuInit(0) != 0:
        return 0, "the NVIDIA driver did not initialise (cuInit failed): no usable GPU"
    count = ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return 0, "the NVIDIA driver reports no CUDA device"
    return count.value, ""


def _import_tensorrt() -> tuple[Any, str]:
    try:
        tensorrt = importlib.import_module("tensorrt")
    except ImportError as exc:
        return None, (
            f"the `tensorrt` Python package does not import ({exc}); on PyPI it is a placeholder that fetches "
            "wheels from NVIDIA's index, so install it from there or use the NGC TensorRT/Triton container"
        )
    return tensorrt, ""


def skip_reason() -> str:
    """Why an engine cannot be built here ("" when it can)."""
    trt, why = _import_tensorrt()
    if trt is None:
        return why
    count, why = gpu_count()
    return why if count == 0 else ""


def build_engine(
    onnx_path: Path, plan_path: Path, *, settings: RepositorySettings | None = None, max_tokens: int = 256
) -> EngineBuild:
    """Build an FP16 engine with one optimisation profile for [1..max_batch, 1..max_tokens].

    Args:
        onnx_path: The encoder ONNX (input_ids, attention_mask int64 [batch, seq]).
        plan_path: Where to write the serialised engine.
        settings: Repository settings (the encoder's max batch size).
        max_tokens: Longest sequence the engine accepts.

    Returns:
        The written plan, or the reason nothing was built.

    Raises:
        RuntimeError: TensorRT and a GPU are present but parsing or building failed.
    """
    why = skip_reason()
    if why:
        return EngineBuild(None, skipped=why)
    trt, _ = _import_tensorrt()
    max_batch = (settings or RepositorySettings()).encoder.max_batch_size
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(str(trt.__version__).split(".")[0])
    # TensorRT 10 networks are always explicit-batch; 8.x needs the flag.
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        name = network.get_input(index).name
        profile.set_shape(name, (1, 1), (max(1, max_batch // 2), max_tokens // 2), (max_batch, max_tokens))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    plan_path.write_bytes(bytes(serialized))
    return EngineBuild(plan_path, precision="fp16")


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build the engine or print why not; exit 0 either way (a skip is not an error)."""
    parser = argparse.ArgumentParser(prog="python -m domain_inference.triton.tensorrt_builder", description=__doc__)
    parser.add_argument("--onnx", type=Path, required=True, help="encoder ONNX file")
    parser.add_argument("--out", type=Path, required=True, help="engine file to write")
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args(argv)
    print(build_engine(args.onnx, args.out, max_tokens=args.max_tokens).describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

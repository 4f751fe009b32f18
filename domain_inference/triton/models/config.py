"""Reading a Python-backend model's arguments and config.pbtxt (as JSON) inside Triton.

Layer: deployment tooling (runs inside the stub, but imports nothing from Triton).
config.pbtxt is the contract: tensor names and dtypes come from it, not from constants.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain_inference.adapters.onnx_session import open_session

__all__ = ["ModelArgs", "TensorSpec"]


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of config.pbtxt."""

    name: str
    data_type: str
    dims: tuple[int, ...]


@dataclass(frozen=True)
class ModelArgs:
    """What `initialize(args)` tells a model, parsed.

    Attributes:
        name: Model name.
        version_dir: The model's version directory (relative parameters resolve against it).
        max_batch_size: From config.pbtxt.
        inputs: Inputs in config order.
        outputs: Outputs in config order.
        parameters: String parameters of config.pbtxt.
    """

    name: str
    version_dir: Path
    max_batch_size: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    parameters: Mapping[str, str]

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> ModelArgs:
        """Parse the `args` dict Triton passes to `initialize` (every value is a str)."""
        config: dict[str, Any] = json.loads(args["model_config"])

        def tensors(key: str) -> tuple[TensorSpec, ...]:
            return tuple(
                TensorSpec(t["name"], t["data_type"], tuple(int(d) for d in t.get("dims", ())))
                for t in config.get(key, [])
            )

        params = {k: str(v.get("string_value", "")) for k, v in config.get("parameters", {}).items()}
        return cls(
            name=args["model_name"],
            version_dir=Path(args["model_repository"]) / args["model_version"],
            max_batch_size=int(config.get("max_batch_size", 0)),
            inputs=tensors("input"),
            outputs=tensors("output"),
            parameters=params,
        )

    def path(self, key: str) -> Path:
        """A file parameter, resolved against the version directory when relative."""
        path = Path(self.parameters[key])
        return path if path.is_absolute() else self.version_dir / path

    def integer(self, key: str, default: int) -> int:
        """An integer parameter."""
        raw = self.parameters.get(key, "")
        return int(raw) if raw else default

    def number(self, key: str, default: float) -> float:
        """A float parameter."""
        raw = self.parameters.get(key, "")
        return float(raw) if raw else default

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean parameter ("true"/"false")."""
        raw = self.parameters.get(key, "")
        return raw.lower() in {"1", "true", "yes"} if raw else default

    def onnx_session(self) -> Any:
        """The ONNX Runtime session of the `onnx_file` parameter, with the configured threads."""
        return open_session(
            self.path("onnx_file"),
            threads=self.integer("intra_op_threads", 1),
            allow_spinning=self.flag("allow_spinning"),
        )

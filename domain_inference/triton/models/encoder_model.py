"""Triton Python-backend model `encoder`: token rows -> unit-norm sentence embeddings (ONNX Runtime).

Layer: deployment tooling, runs inside Triton. The inputs allow ragged batches, so the
dynamic batcher merges requests of any length; `execute` stacks every request's rows, sorts
them by length, runs the graph once per run of similar length (`encoding.encode_rows`) and
hands each request its rows back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import triton_python_backend_utils as pb_utils

from domain_inference.encoding import encode_rows
from domain_inference.padding import merge_padded
from domain_inference.triton.models.config import ModelArgs

__all__ = ["TritonPythonModel"]


class TritonPythonModel:
    """The encoder step."""

    def initialize(self, args: Mapping[str, str]) -> None:
        """Open the ONNX Runtime session with the configured threads."""
        parsed = ModelArgs.parse(args)
        self._session = parsed.onnx_session()
        self._ids, self._mask = parsed.inputs[0].name, parsed.inputs[1].name
        self._output = parsed.outputs[0].name
        self._max_rows = parsed.integer("bucket_max_rows", max(parsed.max_batch_size, 1))
        self._run_overhead = parsed.number("bucket_run_overhead_tokens", 16.0)
        self._run_tokens = parsed.integer("bucket_max_run_tokens", 0)

    def execute(self, requests: Sequence[Any]) -> list[Any]:
        """Embed the rows of every request with one bucketed pass."""
        try:
            ids = [pb_utils.get_input_tensor_by_name(r, self._ids).as_numpy() for r in requests]
            masks = [pb_utils.get_input_tensor_by_name(r, self._mask).as_numpy() for r in requests]
            rows = merge_padded(ids, masks)
            vectors = encode_rows(
                self._session,
                rows,
                input_names=(self._ids, self._mask),
                output_name=self._output,
                max_rows=self._max_rows,
                run_overhead_tokens=self._run_overhead,
                max_run_tokens=self._run_tokens,
            )
        except Exception as exc:  # answer every request with the error instead of failing the stub
            error = pb_utils.TritonError(f"encoder failed: {exc!r}")
            return [pb_utils.InferenceResponse(output_tensors=[], error=error) for _ in requests]
        responses = []
        start = 0
        for block in ids:
            stop = start + block.shape[0]
            responses.append(
                pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(self._output, vectors[start:stop])])
            )
            start = stop
        return responses

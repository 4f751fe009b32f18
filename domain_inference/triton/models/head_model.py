"""Triton Python-backend model `news_topic_head`: embeddings -> probabilities and OOD scores.

Layer: deployment tooling, runs inside Triton. One ONNX Runtime run per dynamic batch; each
request gets the outputs it asked for (the ensemble maps only some of them). Rank-1 graph
outputs (`mahalanobis`, `ood_logit`) are returned as [n, 1] to match config dims [1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from domain_inference.encoding import run_head
from domain_inference.triton.models.config import ModelArgs

__all__ = ["TritonPythonModel"]


class TritonPythonModel:
    """The news-topic head step."""

    def initialize(self, args: Mapping[str, str]) -> None:
        """Open the ONNX Runtime session."""
        parsed = ModelArgs.parse(args)
        self._session = parsed.onnx_session()
        self._input = parsed.inputs[0].name
        self._outputs = tuple(o.name for o in parsed.outputs)

    def execute(self, requests: Sequence[Any]) -> list[Any]:
        """Run the head once for every request's rows."""
        try:
            blocks = [pb_utils.get_input_tensor_by_name(r, self._input).as_numpy() for r in requests]
            out = run_head(self._session, np.concatenate(blocks), input_name=self._input, output_names=self._outputs)
        except Exception as exc:  # answer every request with the error instead of failing the stub
            error = pb_utils.TritonError(f"news_topic_head failed: {exc!r}")
            return [pb_utils.InferenceResponse(output_tensors=[], error=error) for _ in requests]
        responses = []
        start = 0
        for request, block in zip(requests, blocks, strict=True):
            stop = start + block.shape[0]
            wanted = set(request.requested_output_names()) or set(self._outputs)
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(value[start:stop].reshape(stop - start, -1)))
                for name, value in out.items()
                if name in wanted
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start = stop
        return responses

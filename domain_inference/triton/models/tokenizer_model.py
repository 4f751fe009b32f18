"""Triton Python-backend model `tokenizer`: texts -> encoder input tensors, per request.

Layer: deployment tooling, runs inside Triton. One `execute` tokenises every text of the
dynamic batch in one `encode_batch` call, then returns each request its own rows cut to
that request's longest text (rounded up to `pad_to_multiple_of` when set, so that a native
encoder can batch equal shapes; the Python-backend encoder accepts ragged requests).

Input `text` (BYTES [1]); outputs `input_ids`, `attention_mask` (INT64 [-1]),
`token_count` (INT64 [1]) and `truncated` (BOOL [1]).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from domain_inference.padding import fit_width, row_width
from domain_inference.tokenization import TextTokenizer, TokenizerSettings
from domain_inference.triton.models.config import ModelArgs

__all__ = ["TritonPythonModel"]


def _decode(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


class TritonPythonModel:
    """The tokenizer step."""

    def initialize(self, args: Mapping[str, str]) -> None:
        """Load tokenizer.json with the artifacts' truncation and padding settings."""
        import json

        parsed = ModelArgs.parse(args)
        settings = TokenizerSettings.from_dict(json.loads(parsed.parameters["tokenizer_settings"]))
        self._tokenizer = TextTokenizer.from_file(parsed.path("tokenizer_file"), settings)
        self._multiple = parsed.integer("pad_to_multiple_of", 0)
        self._input = parsed.inputs[0].name

    def execute(self, requests: Sequence[Any]) -> list[Any]:
        """Tokenise the texts of every request in one call; answer each request with its rows."""
        try:
            arrays = [pb_utils.get_input_tensor_by_name(r, self._input).as_numpy().reshape(-1) for r in requests]
            texts = [_decode(t) for array in arrays for t in array]
            batch = self._tokenizer.encode(texts)
        except Exception as exc:  # answer every request with the error instead of failing the stub
            error = pb_utils.TritonError(f"tokenizer failed: {exc!r}")
            return [pb_utils.InferenceResponse(output_tensors=[], error=error) for _ in requests]
        counts = np.asarray(batch.token_counts, dtype=np.int64)
        truncated = np.asarray(batch.truncated, dtype=np.bool_)
        responses = []
        start = 0
        for array in arrays:
            stop = start + len(array)
            width = row_width(counts[start:stop], self._multiple)
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("input_ids", fit_width(batch.input_ids[start:stop], width)),
                        pb_utils.Tensor("attention_mask", fit_width(batch.attention_mask[start:stop], width)),
                        pb_utils.Tensor("token_count", counts[start:stop].reshape(-1, 1)),
                        pb_utils.Tensor("truncated", truncated[start:stop].reshape(-1, 1)),
                    ]
                )
            )
            start = stop
        return responses

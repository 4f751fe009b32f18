"""Export all-MiniLM-L6-v2 with mean pooling and L2 normalisation to ONNX, and check parity.

Layer: build tooling. torch and transformers are imported inside the functions only.

The graph takes `input_ids` and `attention_mask` (int64, [batch, seq]) and returns
`sentence_embedding` (float32, [batch, 384], unit norm); it builds the all-zero
`token_type_ids` itself. It is exported with the legacy TorchScript exporter at opset 17.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from domain_inference.tokenization import TextTokenizer

__all__ = [
    "ENCODER_INPUTS",
    "ENCODER_OUTPUT",
    "OPSET",
    "ParityError",
    "ParityReport",
    "check_parity",
    "export_encoder",
    "parity_texts",
]

ENCODER_INPUTS = ("input_ids", "attention_mask")
ENCODER_OUTPUT = "sentence_embedding"
OPSET = 17
PARITY_LIMIT = 1e-4
EDGE_CASES = (
    "",
    "a",
    "Café, naïve résumé: Zürich's Ångström façade déjà vu",
    "北京是中国的首都。東京は日本の首都です。서울은 한국의 수도입니다.",
    "Great goal tonight ⚽🔥😂👍 #winning",
    "tabs\tand\nnew\nlines   and   spaces",
)


class ParityError(RuntimeError):
    """The exported graph disagrees with the torch model beyond the limit."""


@dataclass(frozen=True)
class ParityReport:
    """Outcome of comparing ONNX and torch embeddings.

    Attributes:
        texts: How many parity texts were compared.
        max_abs_diff_batched: Largest absolute difference with one padded batch.
        max_abs_diff_single: Largest absolute difference, one text at a time.
        min_cosine: Smallest cosine between matching embeddings.
        limit: The largest difference allowed.
    """

    texts: int
    max_abs_diff_batched: float
    max_abs_diff_single: float
    min_cosine: float
    limit: float

    @property
    def max_abs_diff(self) -> float:
        """The larger of the batched and single differences."""
        return max(self.max_abs_diff_batched, self.max_abs_diff_single)

    def to_dict(self) -> dict[str, float | int]:
        """Return the report as a JSON-ready dict."""
        return {
            "texts": self.texts,
            "max_abs_diff": self.max_abs_diff,
            "max_abs_diff_batched": self.max_abs_diff_batched,
            "max_abs_diff_single": self.max_abs_diff_single,
            "min_cosine": self.min_cosine,
            "limit": self.limit,
        }


def _load_torch_encoder(model_dir: Path) -> Any:
    import torch
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    class MeanPooledEncoder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    # The load report lists the unused pooler weights, expected with add_pooling_layer=False.
    logging_api: Any = hf_logging
    logging_api.set_verbosity_error()
    logging_api.disable_progress_bar()
    bert: Any = BertModel.from_pretrained(str(model_dir), add_pooling_layer=False, local_files_only=True)
    encoder: Any = MeanPooledEncoder(bert.eval())
    return encoder.eval()


def export_encoder(model_dir: Path, onnx_path: Path) -> None:
    """Export the pooled, normalised encoder to `onnx_path`.

    Args:
        model_dir: Folder with `model.safetensors` and `config.json`.
        onnx_path: Destination file; its folder must exist.
    """
    import torch

    torch.manual_seed(0)
    encoder = _load_torch_encoder(model_dir)
    # Traced with a padded row so the mask path is exercised in the trace.
    ids = torch.tensor([[101, 7592, 2088, 102, 0, 0], [101, 2023, 2003, 1037, 3231, 102]])
    mask = (ids != 0).long()
    with torch.no_grad(), warnings.catch_warnings():
        # Legacy-exporter deprecation and tracer warnings; parity is checked afterwards.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder,
            (ids, mask),
            str(onnx_path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(ENCODER_INPUTS),
            output_names=[ENCODER_OUTPUT],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                ENCODER_OUTPUT: {0: "batch"},
            },
        )


def parity_texts(articles: Sequence[str], reviews: Sequence[str]) -> list[str]:
    """Build the parity set: articles, reviews, edge cases and one 400-word text.

    Args:
        articles: News articles (long; exercise truncation at the token limit).
        reviews: Short off-topic texts.

    Returns:
        The texts, in a fixed order.
    """
    words = " ".join(articles).split()[:400]
    return [*articles, *reviews, *EDGE_CASES, " ".join(words)]


def _torch_embed(encoder: Any, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    import torch

    with torch.no_grad():
        out = encoder(torch.from_numpy(ids), torch.from_numpy(mask))
    return np.asarray(out.numpy(), dtype=np.float32)


def check_parity(
    model_dir: Path,
    session: Any,
    tokenizer: TextTokenizer,
    texts: Sequence[str],
    limit: float = PARITY_LIMIT,
) -> ParityReport:
    """Compare the ONNX session with the torch model on `texts`, batched and one by one.

    Args:
        model_dir: The original model folder.
        session: onnxruntime session of the exported graph.
        tokenizer: Tokenizer with the serving settings.
        texts: The parity set.
        limit: Largest absolute difference allowed.

    Returns:
        The measured differences.

    Raises:
        ParityError: A difference exceeds `limit`.
    """
    encoder = _load_torch_encoder(model_dir)
    batch = tokenizer.encode(texts)
    feed = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
    onnx_batched = np.asarray(session.run([ENCODER_OUTPUT], feed)[0], dtype=np.float32)
    torch_batched = _torch_embed(encoder, batch.input_ids, batch.attention_mask)
    diff_batched = float(np.abs(onnx_batched - torch_batched).max())
    diff_single = 0.0
    cosines: list[float] = []
    for i, text in enumerate(texts):
        one = tokenizer.encode([text])
        onnx_one = np.asarray(
            session.run([ENCODER_OUTPUT], {"input_ids": one.input_ids, "attention_mask": one.attention_mask})[0]
        )
        diff_single = max(diff_single, float(np.abs(onnx_one[0] - torch_batched[i]).max()))
        cosines.append(float(onnx_one[0] @ torch_batched[i]))
    report = ParityReport(len(texts), diff_batched, diff_single, min(cosines), limit)
    if report.max_abs_diff > limit:
        raise ParityError(f"ONNX encoder differs from torch by {report.max_abs_diff:.3g} (limit {limit:g})")
    return report

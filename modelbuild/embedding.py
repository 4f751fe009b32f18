"""Embed many texts with the exported encoder, batching texts of similar length together.

Layer: build tooling (onnxruntime, numpy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from domain_inference.tokenization import TextTokenizer
from modelbuild.encoder_export import ENCODER_OUTPUT

__all__ = ["Embeddings", "embed_texts", "open_session"]


@dataclass(frozen=True)
class Embeddings:
    """Embeddings with the token counts the encoder saw.

    Attributes:
        vectors: float32 array (n, dim), unit norm rows.
        token_counts: int64 array (n,), tokens seen per text, special tokens included.
    """

    vectors: npt.NDArray[np.float32]
    token_counts: npt.NDArray[np.int64]


def open_session(onnx_path: Path, threads: int) -> Any:
    """Open a CPU onnxruntime session with a fixed thread count.

    Args:
        onnx_path: ONNX model file.
        threads: Intra-op threads.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def embed_texts(
    session: Any,
    tokenizer: TextTokenizer,
    texts: Sequence[str],
    batch_size: int = 32,
    on_progress: Callable[[int, int], None] | None = None,
) -> Embeddings:
    """Embed `texts`, sorted by length into batches, returned in input order.

    Args:
        session: onnxruntime session of the text encoder.
        tokenizer: Tokenizer with the serving settings.
        texts: Texts to embed.
        batch_size: Texts per encoder call.
        on_progress: Called with (texts done, total) after each batch.

    Returns:
        One embedding and token count per text.
    """
    dim = int(session.get_outputs()[0].shape[-1])
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    counts = np.zeros(len(texts), dtype=np.int64)
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = tokenizer.encode([texts[i] for i in index])
        feed = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        vectors[index] = session.run([ENCODER_OUTPUT], feed)[0]
        counts[index] = batch.token_counts
        if on_progress is not None:
            on_progress(min(start + batch_size, len(order)), len(order))
    return Embeddings(vectors, counts)

"""The in-process fallback: tokenizer, encoder and head run by ONNX Runtime inside the service.

Layer: adapters (loads model files, runs ONNX Runtime in worker threads). Concurrent
requests are merged by one `MicroBatcher` per model, so under load the fallback runs batches
too; each batch is tokenised at once and encoded in runs of similar length, exactly as the
Triton models do, so both paths give the same answers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from domain_inference.adapters.onnx_session import open_session
from domain_inference.artifacts import ModelArtifacts
from domain_inference.batching import BatcherStats, MicroBatcher
from domain_inference.config import FallbackSettings
from domain_inference.encoding import encode_rows, run_head
from domain_inference.models import ModelKind, ModelSpec
from domain_inference.outputs import ClassifierOutput, EmbeddingOutput
from domain_inference.padding import PaddedRows
from domain_inference.tokenization import TextTokenizer

__all__ = ["InProcessBackend"]

HEAD_OUTPUTS = ("probs", "ood_logit", "mahalanobis")


class _Sessions:
    def __init__(self, tokenizer: TextTokenizer, encoder: Any, head: Any) -> None:
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.head = head


class InProcessBackend:
    """Run the models in this process, one micro-batcher per model.

    Args:
        artifacts: The loaded artifacts.
        settings: Fallback settings (batching, threads, preload).
        run_overhead_tokens: Length-bucketing cost of one encoder call (same as the Triton encoder's).
        max_run_tokens: Most padded tokens per encoder call (same as the Triton encoder's).
        allow_spinning: Let ONNX Runtime threads spin while idle.
    """

    def __init__(
        self,
        artifacts: ModelArtifacts,
        settings: FallbackSettings,
        *,
        run_overhead_tokens: float = 16.0,
        max_run_tokens: int = 0,
        allow_spinning: bool = False,
    ) -> None:
        self._artifacts = artifacts
        self._settings = settings
        self._run_overhead_tokens = run_overhead_tokens
        self._max_run_tokens = max_run_tokens
        self._allow_spinning = allow_spinning
        self._sessions: _Sessions | None = None
        self._load_lock = threading.Lock()
        wait_s = settings.max_wait_ms / 1000.0
        self._classifier: MicroBatcher[str, ClassifierOutput] = MicroBatcher(
            self._run_classify,
            ClassifierOutput.rows,
            max_items=settings.max_batch_texts,
            max_wait_s=wait_s,
            name="fallback-classify",
        )
        self._encoder: MicroBatcher[str, EmbeddingOutput] = MicroBatcher(
            self._run_embed,
            EmbeddingOutput.rows,
            max_items=settings.max_batch_texts,
            max_wait_s=wait_s,
            name="fallback-embed",
        )

    async def start(self) -> None:
        """Start the batchers; load the sessions now when `preload` is set."""
        await self._classifier.start()
        await self._encoder.start()
        if self._settings.preload:
            await asyncio.to_thread(self._load)

    async def aclose(self) -> None:
        """Stop the batchers (waiting requests fail with UNAVAILABLE)."""
        await self._encoder.aclose()
        await self._classifier.aclose()

    @property
    def stats(self) -> dict[ModelKind, BatcherStats]:
        """Batching counters per model kind (executions vs requests)."""
        return {ModelKind.CLASSIFIER: self._classifier.stats, ModelKind.ENCODER: self._encoder.stats}

    async def classify(self, spec: ModelSpec, texts: Sequence[str], timeout_s: float) -> ClassifierOutput:
        """Classify `texts` in process (merged with concurrent callers)."""
        return await asyncio.wait_for(self._classifier.submit(list(texts)), timeout_s)

    async def embed(self, spec: ModelSpec, texts: Sequence[str], timeout_s: float) -> EmbeddingOutput:
        """Embed `texts` in process (merged with concurrent callers)."""
        return await asyncio.wait_for(self._encoder.submit(list(texts)), timeout_s)

    async def ready(self, spec: ModelSpec) -> bool:
        """Whether the sessions are loaded, or their files are there to load."""
        if self._sessions is not None:
            return True
        paths = (self._artifacts.encoder.model_path, self._artifacts.encoder.tokenizer_path)
        return all(p.is_file() for p in paths) and self._artifacts.topic.model_path.is_file()

    def _load(self) -> _Sessions:
        with self._load_lock:
            if self._sessions is None:
                enc = self._artifacts.encoder
                threads = self._settings.threads
                tokenizer = TextTokenizer.from_file(enc.tokenizer_path, enc.tokenizer_settings)
                encoder = open_session(enc.model_path, threads=threads, allow_spinning=self._allow_spinning)
                head = open_session(self._artifacts.topic.model_path, threads=1, allow_spinning=self._allow_spinning)
                self._sessions = _Sessions(tokenizer, encoder, head)
            return self._sessions

    def _encode(self, texts: list[str]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        sessions = self._load()
        batch = sessions.tokenizer.encode(texts)
        rows = PaddedRows(batch.input_ids, batch.attention_mask, np.asarray(batch.token_counts, dtype=np.int64))
        enc = self._artifacts.encoder
        vectors = encode_rows(
            sessions.encoder,
            rows,
            input_names=(enc.input_names[0], enc.input_names[1]),
            output_name=enc.output_name,
            max_rows=self._settings.max_batch_texts,
            run_overhead_tokens=self._run_overhead_tokens,
            max_run_tokens=self._max_run_tokens,
        )
        return vectors, rows.lengths, np.asarray(batch.truncated, dtype=np.bool_)

    def _run_embed(self, texts: list[str]) -> EmbeddingOutput:
        vectors, counts, truncated = self._encode(texts)
        return EmbeddingOutput(vectors, counts, truncated)

    def _run_classify(self, texts: list[str]) -> ClassifierOutput:
        vectors, counts, truncated = self._encode(texts)
        sessions = self._load()
        out = run_head(sessions.head, vectors, input_name=self._artifacts.topic.input_name, output_names=HEAD_OUTPUTS)
        return ClassifierOutput(
            out["probs"], out["ood_logit"].reshape(-1), out["mahalanobis"].reshape(-1), counts, truncated
        )

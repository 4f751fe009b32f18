"""The Triton backend: tritonclient's gRPC asyncio client over a pool of channels.

Layer: adapters (network I/O). One Classify/Embed request becomes one Triton request to the
model's ensemble with all its texts as a BYTES [n, 1] tensor; batching across callers is
left to Triton's dynamic batcher. Channels are separate HTTP/2 connections (a local
subchannel pool each), used round-robin, with a short reconnect backoff so a restarted
Triton is found again within about a second. tritonclient errors are translated here, in
one place: unreachable or model-not-loaded -> `BackendUnavailableError` (the router falls
back), deadline -> `DeadlineExceededError`, anything else -> `InternalError`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import tritonclient.grpc.aio as triton_aio
from tritonclient.grpc import InferInput, InferRequestedOutput
from tritonclient.utils import InferenceServerException, triton_to_np_dtype

from agentplane.errors import AgentplaneError, DeadlineExceededError, InternalError
from domain_inference.config import TritonClientSettings
from domain_inference.inference import BackendUnavailableError
from domain_inference.models import ModelSpec
from domain_inference.outputs import ClassifierOutput, EmbeddingOutput

__all__ = ["ModelStatistics", "TritonBackend"]

_MAX_MESSAGE_BYTES = 2**31 - 1
CLASSIFIER_OUTPUTS = ("probs", "ood_logit", "mahalanobis", "token_count", "truncated")
ENCODER_OUTPUTS = ("sentence_embedding", "token_count", "truncated")
_UNREACHABLE = {"UNAVAILABLE", "NOT_FOUND"}


@dataclass(frozen=True)
class ModelStatistics:
    """Triton's cumulative counters of one model.

    Attributes:
        requests: Successful requests (`success.count`).
        inferences: Rows inferred (`inference_count`): texts.
        executions: Model executions (`execution_count`); inferences / executions is the
            mean batch size, 1 without dynamic batching.
    """

    requests: int
    inferences: int
    executions: int


def _arrays(result: Any) -> dict[str, Any]:
    """Every output of an InferResult as a numpy view, in one pass over the response."""
    response = result.get_response()
    raw = response.raw_output_contents
    return {
        output.name: np.frombuffer(raw[index], dtype=triton_to_np_dtype(output.datatype)).reshape(tuple(output.shape))
        for index, output in enumerate(response.outputs)
    }


def _code(exc: InferenceServerException) -> str:
    return str(exc.status() or "").rsplit(".", 1)[-1]


def _translate(exc: InferenceServerException, address: str, model: str) -> AgentplaneError:
    code, message = _code(exc), str(exc.message() or exc)
    if code == "DEADLINE_EXCEEDED":
        return DeadlineExceededError(f"Triton did not answer in time for {model!r}: {message}", reason="TRITON_TIMEOUT")
    lowered = message.lower()
    if code in _UNREACHABLE or "unknown model" in lowered or "not ready" in lowered or "failed to connect" in lowered:
        return BackendUnavailableError(
            f"Triton at {address} cannot serve {model!r} [{code or 'no status'}]: {message}",
            reason="TRITON_UNAVAILABLE",
            metadata={"address": address, "model": model},
        )
    return InternalError(f"Triton rejected the {model!r} request [{code}]: {message}", reason="TRITON_ERROR")


class TritonBackend:
    """Run the ensembles on Triton.

    Args:
        address: host:port of Triton's gRPC endpoint (loopback).
        settings: Pool size, reconnect backoff, ready-check timeout.
    """

    def __init__(self, address: str, settings: TritonClientSettings) -> None:
        self.address = address
        self._settings = settings
        self._clients: list[Any] = []
        self._next: Iterator[int] = itertools.cycle([0])
        self._outputs = {
            "classifier": [InferRequestedOutput(name) for name in CLASSIFIER_OUTPUTS],
            "encoder": [InferRequestedOutput(name) for name in ENCODER_OUTPUTS],
        }

    async def start(self) -> None:
        """Open the channel pool (connections are made lazily, on first use)."""
        if self._clients:
            return
        backoff_ms = int(self._settings.reconnect_backoff_max_s * 1000)
        for index in range(self._settings.channels):
            args = [
                ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
                # not grpc.min_reconnect_backoff_ms: it is also the connect timeout (20 s by default)
                ("grpc.initial_reconnect_backoff_ms", min(100, backoff_ms)),
                ("grpc.max_reconnect_backoff_ms", backoff_ms),
                ("grpc.use_local_subchannel_pool", 1),  # one connection per pooled channel
                ("agentplane.channel_index", index),
            ]
            self._clients.append(triton_aio.InferenceServerClient(url=self.address, channel_args=args))
        self._next = itertools.cycle(range(len(self._clients)))

    async def aclose(self) -> None:
        """Close every channel."""
        clients, self._clients = self._clients, []
        for client in clients:
            await client.close()

    def _client(self) -> Any:
        if not self._clients:
            raise BackendUnavailableError("the Triton client is not started", reason="NOT_STARTED")
        return self._clients[next(self._next)]

    @contextmanager
    def _errors(self, model: str) -> Iterator[None]:
        try:
            yield
        except InferenceServerException as exc:
            raise _translate(exc, self.address, model) from exc

    async def _infer(self, model: str, texts: Sequence[str], outputs: list[Any], timeout_s: float) -> Any:
        data = np.array([t.encode("utf-8") for t in texts], dtype=np.object_).reshape(-1, 1)
        text = InferInput("text", [len(texts), 1], "BYTES")
        text.set_data_from_numpy(data)
        with self._errors(model):
            return await self._client().infer(model, [text], outputs=outputs, client_timeout=timeout_s)

    async def classify(self, spec: ModelSpec, texts: Sequence[str], timeout_s: float) -> ClassifierOutput:
        """Run the `spec.name` ensemble (tokenize -> encode -> classify) on `texts`.

        Raises:
            BackendUnavailableError: Triton is unreachable or the model is not loaded.
            DeadlineExceededError: No answer within `timeout_s`.
            InternalError: Triton rejected the request.
        """
        out = _arrays(await self._infer(spec.name, texts, self._outputs["classifier"], timeout_s))
        return ClassifierOutput(
            probs=out["probs"],
            ood_logit=out["ood_logit"].reshape(-1),
            mahalanobis=out["mahalanobis"].reshape(-1),
            token_counts=out["token_count"].reshape(-1),
            truncated=out["truncated"].reshape(-1),
        )

    async def embed(self, spec: ModelSpec, texts: Sequence[str], timeout_s: float) -> EmbeddingOutput:
        """Run the `spec.name` ensemble (tokenize -> encode) on `texts`.

        Raises:
            BackendUnavailableError: Triton is unreachable or the model is not loaded.
            DeadlineExceededError: No answer within `timeout_s`.
            InternalError: Triton rejected the request.
        """
        out = _arrays(await self._infer(spec.name, texts, self._outputs["encoder"], timeout_s))
        return EmbeddingOutput(
            vectors=out["sentence_embedding"],
            token_counts=out["token_count"].reshape(-1),
            truncated=out["truncated"].reshape(-1),
        )

    async def ready(self, spec: ModelSpec) -> bool:
        """Whether Triton answers and has the model's ensemble loaded."""
        try:
            return bool(
                await self._client().is_model_ready(spec.name, client_timeout=self._settings.ready_check_timeout_s)
            )
        except (InferenceServerException, AgentplaneError):
            return False

    async def statistics(self, model: str) -> ModelStatistics:
        """Triton's counters for `model` (all versions summed).

        Raises:
            BackendUnavailableError: Triton is unreachable.
        """
        with self._errors(model):
            stats = await self._client().get_inference_statistics(model, as_json=True)
        totals = [0, 0, 0]
        for entry in stats.get("model_stats", []):
            totals[0] += int(entry.get("inference_stats", {}).get("success", {}).get("count", 0))
            totals[1] += int(entry.get("inference_count", 0))
            totals[2] += int(entry.get("execution_count", 0))
        return ModelStatistics(*totals)

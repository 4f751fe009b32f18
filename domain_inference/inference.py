"""Where an inference runs: Triton first, the in-process path while Triton is unreachable.

Layer: domain. Backends sit behind the small `InferenceBackend` protocol (adapters implement
it). The router asks the circuit breaker before each Triton call: while Triton keeps
failing to connect, the breaker is open and requests go straight to the in-process path
(no connect attempt, no timeout); after the cool-down one request probes Triton, and a
success closes the breaker again. Every answer says which path produced it and, on the
fallback, carries a `Degradation`.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from agentplane import request_context
from agentplane.errors import DeadlineExceededError, UnavailableError
from agentplane.resilience import BreakerState, CircuitBreaker
from agentplane.tracing import Tracing
from domain_inference.metrics import InferenceMetrics
from domain_inference.models import ModelSpec
from domain_inference.outputs import ClassifierOutput, EmbeddingOutput

__all__ = [
    "TRITON_COMPONENT",
    "BackendUnavailableError",
    "Degradation",
    "InferenceBackend",
    "InferencePath",
    "InferenceRouter",
    "Routed",
]

T = TypeVar("T")
TRITON_COMPONENT = "domain_inference.triton"


class InferencePath(enum.Enum):
    """Which path produced an answer."""

    TRITON = "triton"
    IN_PROCESS = "in_process"


class BackendUnavailableError(UnavailableError):
    """A backend cannot be reached or cannot serve the model now; another path may answer."""

    default_reason = "BACKEND_UNAVAILABLE"


@dataclass(frozen=True)
class Degradation:
    """A degraded answer: what degraded, why, and the confidence multiplier applied (1 = none)."""

    component: str
    reason: str
    penalty: float = 1.0


@dataclass(frozen=True)
class Routed(Generic[T]):
    """A backend's answer with the path that produced it."""

    value: T
    path: InferencePath
    degradations: tuple[Degradation, ...] = ()


class InferenceBackend(Protocol):
    """One way to run the models."""

    async def classify(self, spec: ModelSpec, texts: Sequence[str], timeout_s: float) -> ClassifierOutput:
        """Run the classifier pipeline on `texts`."""

    async def embed(self, spec: ModelSpec, texts: Sequence[str], timeout_s: float) -> EmbeddingOutput:
        """Run the encoder pipeline on `texts`."""

    async def ready(self, spec: ModelSpec) -> bool:
        """Whether the backend can serve `spec` now."""

    async def aclose(self) -> None:
        """Release connections, sessions and threads."""


class InferenceRouter:
    """Send each call to Triton, or to the fallback while Triton is unreachable.

    Args:
        primary: The Triton backend.
        fallback: The in-process backend, or None to fail with UNAVAILABLE instead.
        breaker: Breaker guarding `primary`.
        timeout_s: Most time one inference may take (bounded by the caller's deadline).
        metrics: Where answered calls are counted by path (None: not counted).
        tracing: A span per inference, saying which path answered (default: off).
    """

    def __init__(
        self,
        primary: InferenceBackend,
        fallback: InferenceBackend | None,
        breaker: CircuitBreaker,
        timeout_s: float,
        metrics: InferenceMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.breaker = breaker
        self._timeout_s = timeout_s
        self._metrics = metrics
        self._tracing = tracing or Tracing.off()

    async def classify(self, spec: ModelSpec, texts: Sequence[str]) -> Routed[ClassifierOutput]:
        """Classify `texts` with `spec` on the best available path.

        Raises:
            UnavailableError: Triton is unreachable and there is no fallback.
            DeadlineExceededError: The call's deadline passed.
        """
        return await self._observed(
            spec, "classify", len(texts), lambda backend, timeout: backend.classify(spec, texts, timeout)
        )

    async def embed(self, spec: ModelSpec, texts: Sequence[str]) -> Routed[EmbeddingOutput]:
        """Embed `texts` with `spec` on the best available path.

        Raises:
            UnavailableError: Triton is unreachable and there is no fallback.
            DeadlineExceededError: The call's deadline passed.
        """
        return await self._observed(
            spec, "embed", len(texts), lambda backend, timeout: backend.embed(spec, texts, timeout)
        )

    async def _observed(
        self, spec: ModelSpec, kind: str, texts: int, call: Callable[[InferenceBackend, float], Awaitable[T]]
    ) -> Routed[T]:
        with self._tracing.span(f"{kind} {spec.name}", attributes={"inference.texts": texts}) as span:
            routed = await self._route(call)
            if span is not None:
                span.set_attribute("inference.path", routed.path.value)
        if self._metrics is not None:
            self._metrics.call(spec.name, kind, routed.path.value, texts)
        return routed

    async def path_for(self, spec: ModelSpec) -> tuple[InferencePath, bool]:
        """The path a call for `spec` would take now, and whether that path is ready."""
        if self.breaker.state is not BreakerState.OPEN and await self.primary.ready(spec):
            return InferencePath.TRITON, True
        if self.fallback is not None:
            return InferencePath.IN_PROCESS, await self.fallback.ready(spec)
        return InferencePath.TRITON, False

    def _timeout(self) -> float:
        left = request_context.remaining_s()
        timeout = self._timeout_s if left is None else min(self._timeout_s, left)
        if timeout <= 0:
            raise DeadlineExceededError("the call's deadline passed before inference started", reason="NO_TIME_LEFT")
        return timeout

    async def _route(self, call: Callable[[InferenceBackend, float], Awaitable[T]]) -> Routed[T]:
        if self.breaker.allow():
            try:
                value = await call(self.primary, self._timeout())
            except BackendUnavailableError as exc:
                self.breaker.record_failure()
                if self.fallback is None:
                    raise
                reason = f"Triton unreachable ({exc.message}); answered in process"
            except DeadlineExceededError:
                self.breaker.record_failure()
                raise
            except (asyncio.CancelledError, Exception):
                self.breaker.release_probe()
                raise
            else:
                self.breaker.record_success()
                return Routed(value, InferencePath.TRITON)
        else:
            if self.fallback is None:
                self.breaker.check()
            reason = (
                f"Triton circuit open after repeated connection failures (next probe in "
                f"{self.breaker.retry_after_s():.1f}s); answered in process"
            )
        assert self.fallback is not None
        value = await call(self.fallback, self._timeout())
        return Routed(value, InferencePath.IN_PROCESS, (Degradation(TRITON_COMPONENT, reason),))

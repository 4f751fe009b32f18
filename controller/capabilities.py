"""What the controller can call, as protocols and plain result types.

Layer: controller domain. The runner depends only on these; `controller/adapters/`
implements them over gRPC (domain inference, gateway, realtime) and MCP (external
tools). Every result carries a `CallInfo` so each downstream call can be audited
with its latency and outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from controller.models import Degradation, UsageTotals

__all__ = [
    "CallInfo",
    "ChatTurn",
    "ClassifyOut",
    "CompletionIn",
    "CompletionOut",
    "DomainCapability",
    "ExtractOut",
    "FetchOut",
    "LLMCapability",
    "RealtimeCapability",
    "ToolCallOut",
    "ToolCapability",
    "ToolSpec",
]


@dataclass(frozen=True)
class CallInfo:
    """How one downstream call went (for the audit trail)."""

    service: str
    method: str
    latency_ms: float
    attempts: int
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassifyOut:
    """One text's classification."""

    label: str
    probabilities: dict[str, float]
    confidence: float
    out_of_domain: bool
    ood_score: float
    ood_threshold: float
    model: str
    version: str
    truncated: bool
    degradations: tuple[Degradation, ...] = ()
    card: tuple[tuple[str, float], ...] = ()
    """The model card's figures (name, value), e.g. test accuracy and calibration error."""


@dataclass(frozen=True)
class ChatTurn:
    """One chat message."""

    role: str  # system | user | assistant | tool
    content: str
    tool_call_id: str = ""
    tool_calls: tuple[ToolCallOut, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the LLM in agent mode."""

    name: str
    description: str
    parameters_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolCallOut:
    """A tool call the LLM asked for."""

    id: str
    name: str
    arguments_json: str


@dataclass(frozen=True)
class CompletionIn:
    """A chat completion request."""

    model: str
    messages: tuple[ChatTurn, ...]
    max_tokens: int
    temperature: float = 0.0
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    sensitivity: str = "INTERNAL"
    tools: tuple[ToolSpec, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompletionOut:
    """A chat completion."""

    text: str
    finish_reason: str
    token_logprobs: tuple[float, ...] | None
    usage: UsageTotals
    model: str
    deployment: str
    cache_hit: bool
    call: CallInfo
    tool_calls: tuple[ToolCallOut, ...] = ()


@dataclass(frozen=True)
class FetchOut:
    """A fetched page."""

    url: str
    final_url: str
    status: int
    title: str
    text: str
    fetched_at: datetime
    age_s: float
    from_cache: bool
    injection_flagged: bool
    injection_score: float
    call: CallInfo | None


@dataclass(frozen=True)
class ExtractOut:
    """Structured data extracted from a page."""

    url: str
    data: dict[str, Any]
    found: dict[str, bool]
    required_missing: tuple[str, ...]
    completeness: float
    fetched_at: datetime
    age_s: float
    injection_flagged: bool
    injection_score: float
    call: CallInfo | None


class DomainCapability(Protocol):
    """Domain models (classification, embeddings)."""

    async def classify(self, model: str, texts: Sequence[str]) -> tuple[list[ClassifyOut], CallInfo]:
        """Classify texts."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-norm sentence embeddings."""
        ...


class LLMCapability(Protocol):
    """The LLM gateway."""

    async def complete(self, request: CompletionIn) -> CompletionOut:
        """One completion."""
        ...


class RealtimeCapability(Protocol):
    """Real-time web data."""

    async def fetch(self, url: str, *, max_length: int) -> FetchOut:
        """Fetch a page."""
        ...

    async def extract(self, url: str, schema: dict[str, Any]) -> ExtractOut:
        """Extract a schema's fields from a page."""
        ...


class ToolCapability(Protocol):
    """Tools of external MCP servers."""

    def tools_for(self, tenant: str) -> list[ToolSpec]:
        """The namespaced tools the tenant may use."""
        ...

    async def call(self, tenant: str, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], CallInfo]:
        """Call a namespaced tool; returns its structured (or text) result."""
        ...

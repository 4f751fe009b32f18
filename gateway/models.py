"""The gateway's domain types: chat requests, answers, stream chunks, attempts, usage.

Layer: domain. Plain slotted dataclasses (no validation machinery on the hot path);
`service.py` and `http_front.py` translate the wire formats into these, and the
provider adapters translate these into each provider's wire format.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "Attempt",
    "CacheMode",
    "ChatChunk",
    "ChatRequest",
    "ChatResult",
    "Completion",
    "EmbedRequest",
    "EmbedResult",
    "Embeddings",
    "Message",
    "Sensitivity",
    "StreamDelta",
    "StreamEnd",
    "TokenLogprob",
    "ToolCall",
    "ToolSpec",
    "Usage",
]

ROLES = frozenset({"system", "user", "assistant", "tool"})
FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter"})


class Sensitivity(enum.IntEnum):
    """How sensitive a request's data is; CONFIDENTIAL and RESTRICTED never leave on_prem."""

    PUBLIC = 1
    INTERNAL = 2
    CONFIDENTIAL = 3
    RESTRICTED = 4

    @property
    def sensitive(self) -> bool:
        """Whether the data must stay on on_prem deployments."""
        return self >= Sensitivity.CONFIDENTIAL


class CacheMode(enum.Enum):
    """Per-request cache behaviour."""

    USE = "use"
    """Read and write."""
    BYPASS = "bypass"
    """Neither read nor write."""
    REFRESH = "refresh"
    """Skip the read, write the fresh answer."""


@dataclass(slots=True, frozen=True)
class ToolCall:
    """A function call the assistant asked for."""

    id: str
    name: str
    arguments_json: str


@dataclass(slots=True, frozen=True)
class ToolSpec:
    """A function the model may call; `parameters` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict[str, object]


@dataclass(slots=True)
class Message:
    """One chat message; role is system, user, assistant or tool."""

    role: str
    content: str
    name: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(slots=True)
class ChatRequest:
    """A chat completion request, after the front's translation (before policy)."""

    model: str
    messages: list[Message]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int = 0
    """0 = the alias default; always capped by the tenant's max_tokens_per_request."""
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    cache_mode: CacheMode = CacheMode.USE
    cache_allow_sampling: bool = False
    cache_ttl_s: int = 0
    redact_pii: bool = False
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = ""
    response_format: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class TokenLogprob:
    """Log probability of one generated token, with the top alternatives."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True)
class Usage:
    """Tokens and money of one request (or an aggregate)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    upstream_calls: int = 0
    estimated: bool = False
    """The provider reported no usage; tokens were estimated from the text."""


@dataclass(slots=True)
class Completion:
    """One provider answer, as an adapter returns it."""

    content: str
    finish_reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: list[TokenLogprob] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    usage_reported: bool = True


@dataclass(slots=True)
class Attempt:
    """One routing decision or upstream attempt, for the audit trail."""

    alias: str
    deployment: str
    provider: str
    residency: str
    outcome: str
    """ok, error, breaker_open, skipped_sensitivity, skipped_capability."""
    reason: str = ""
    latency_ms: float = 0.0
    error: str = ""
    http_status: int = 0
    backoff_s: float = 0.0


@dataclass(slots=True)
class ChatResult:
    """The gateway's answer to a chat request."""

    id: str
    alias: str
    deployment: str
    provider: str
    residency: str
    completion: Completion
    usage: Usage
    cache_hit: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    pii_redacted: bool = False


@dataclass(slots=True)
class StreamDelta:
    """A piece of a streamed answer from an adapter."""

    text: str
    logprobs: list[TokenLogprob] | None = None


@dataclass(slots=True)
class StreamEnd:
    """The end of a streamed answer from an adapter (finish reason always known)."""

    finish_reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    usage_reported: bool = False


@dataclass(slots=True)
class ChatChunk:
    """A chunk the gateway streams to its caller.

    The first chunk names who answers (alias, deployment, ...); the last one carries
    finish_reason, usage, tool calls and the attempts.
    """

    id: str
    delta: str = ""
    logprobs: list[TokenLogprob] | None = None
    first: bool = False
    alias: str = ""
    deployment: str = ""
    provider: str = ""
    residency: str = ""
    cache_hit: bool = False
    pii_redacted: bool = False
    finish_reason: str = ""
    usage: Usage | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    attempts: list[Attempt] | None = None


@dataclass(slots=True)
class EmbedRequest:
    """Texts to embed with an embedding alias."""

    model: str
    inputs: list[str]
    sensitivity: Sensitivity = Sensitivity.INTERNAL


@dataclass(slots=True)
class Embeddings:
    """Vectors from an adapter, one per input."""

    vectors: list[list[float]]
    input_tokens: int = 0


@dataclass(slots=True)
class EmbedResult:
    """The gateway's answer to an embedding request."""

    alias: str
    deployment: str
    vectors: list[list[float]]
    usage: Usage
    attempts: list[Attempt] = field(default_factory=list)

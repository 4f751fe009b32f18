from agentplane.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_SYSTEM: _ClassVar[Role]
    ROLE_USER: _ClassVar[Role]
    ROLE_ASSISTANT: _ClassVar[Role]
    ROLE_TOOL: _ClassVar[Role]

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_STOP: _ClassVar[FinishReason]
    FINISH_REASON_LENGTH: _ClassVar[FinishReason]
    FINISH_REASON_TOOL_CALLS: _ClassVar[FinishReason]
    FINISH_REASON_CONTENT_FILTER: _ClassVar[FinishReason]
ROLE_UNSPECIFIED: Role
ROLE_SYSTEM: Role
ROLE_USER: Role
ROLE_ASSISTANT: Role
ROLE_TOOL: Role
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_TOOL_CALLS: FinishReason
FINISH_REASON_CONTENT_FILTER: FinishReason

class ToolDefinition(_message.Message):
    __slots__ = ("name", "description", "parameters_json_schema")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters_json_schema: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters_json_schema: _Optional[str] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("id", "name", "arguments_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    arguments_json: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_json: _Optional[str] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("role", "content", "name", "tool_calls", "tool_call_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    role: Role
    content: str
    name: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_call_id: str
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., content: _Optional[str] = ..., name: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_call_id: _Optional[str] = ...) -> None: ...

class CachePolicy(_message.Message):
    __slots__ = ("mode", "allow_sampling", "ttl_s")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[CachePolicy.Mode]
        MODE_USE: _ClassVar[CachePolicy.Mode]
        MODE_BYPASS: _ClassVar[CachePolicy.Mode]
        MODE_REFRESH: _ClassVar[CachePolicy.Mode]
    MODE_UNSPECIFIED: CachePolicy.Mode
    MODE_USE: CachePolicy.Mode
    MODE_BYPASS: CachePolicy.Mode
    MODE_REFRESH: CachePolicy.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SAMPLING_FIELD_NUMBER: _ClassVar[int]
    TTL_S_FIELD_NUMBER: _ClassVar[int]
    mode: CachePolicy.Mode
    allow_sampling: bool
    ttl_s: int
    def __init__(self, mode: _Optional[_Union[CachePolicy.Mode, str]] = ..., allow_sampling: bool = ..., ttl_s: _Optional[int] = ...) -> None: ...

class CompleteRequest(_message.Message):
    __slots__ = ("model", "messages", "temperature", "top_p", "max_tokens", "stop", "seed", "logprobs", "top_logprobs", "sensitivity", "cache", "redact_pii", "tools", "tool_choice", "response_format", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    TOP_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    REDACT_PII_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    model: str
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    temperature: float
    top_p: float
    max_tokens: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    logprobs: bool
    top_logprobs: int
    sensitivity: _common_pb2.Sensitivity
    cache: CachePolicy
    redact_pii: bool
    tools: _containers.RepeatedCompositeFieldContainer[ToolDefinition]
    tool_choice: str
    response_format: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, model: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., max_tokens: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., logprobs: bool = ..., top_logprobs: _Optional[int] = ..., sensitivity: _Optional[_Union[_common_pb2.Sensitivity, str]] = ..., cache: _Optional[_Union[CachePolicy, _Mapping]] = ..., redact_pii: bool = ..., tools: _Optional[_Iterable[_Union[ToolDefinition, _Mapping]]] = ..., tool_choice: _Optional[str] = ..., response_format: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TopLogprob(_message.Message):
    __slots__ = ("token", "logprob")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOGPROB_FIELD_NUMBER: _ClassVar[int]
    token: str
    logprob: float
    def __init__(self, token: _Optional[str] = ..., logprob: _Optional[float] = ...) -> None: ...

class TokenLogprob(_message.Message):
    __slots__ = ("token", "logprob", "top_logprobs")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOGPROB_FIELD_NUMBER: _ClassVar[int]
    TOP_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    token: str
    logprob: float
    top_logprobs: _containers.RepeatedCompositeFieldContainer[TopLogprob]
    def __init__(self, token: _Optional[str] = ..., logprob: _Optional[float] = ..., top_logprobs: _Optional[_Iterable[_Union[TopLogprob, _Mapping]]] = ...) -> None: ...

class UpstreamAttempt(_message.Message):
    __slots__ = ("alias", "deployment", "outcome", "latency_ms", "error")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    alias: str
    deployment: str
    outcome: str
    latency_ms: float
    error: str
    def __init__(self, alias: _Optional[str] = ..., deployment: _Optional[str] = ..., outcome: _Optional[str] = ..., latency_ms: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class CompleteResponse(_message.Message):
    __slots__ = ("id", "model", "deployment", "provider", "message", "finish_reason", "logprobs", "usage", "cache_hit", "attempts", "residency", "pii_redacted")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RESIDENCY_FIELD_NUMBER: _ClassVar[int]
    PII_REDACTED_FIELD_NUMBER: _ClassVar[int]
    id: str
    model: str
    deployment: str
    provider: str
    message: ChatMessage
    finish_reason: FinishReason
    logprobs: _containers.RepeatedCompositeFieldContainer[TokenLogprob]
    usage: _common_pb2.Usage
    cache_hit: bool
    attempts: _containers.RepeatedCompositeFieldContainer[UpstreamAttempt]
    residency: str
    pii_redacted: bool
    def __init__(self, id: _Optional[str] = ..., model: _Optional[str] = ..., deployment: _Optional[str] = ..., provider: _Optional[str] = ..., message: _Optional[_Union[ChatMessage, _Mapping]] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ..., logprobs: _Optional[_Iterable[_Union[TokenLogprob, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., cache_hit: bool = ..., attempts: _Optional[_Iterable[_Union[UpstreamAttempt, _Mapping]]] = ..., residency: _Optional[str] = ..., pii_redacted: bool = ...) -> None: ...

class CompleteChunk(_message.Message):
    __slots__ = ("delta", "logprobs", "finish_reason", "usage", "model", "deployment", "cache_hit", "tool_calls")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    delta: str
    logprobs: _containers.RepeatedCompositeFieldContainer[TokenLogprob]
    finish_reason: FinishReason
    usage: _common_pb2.Usage
    model: str
    deployment: str
    cache_hit: bool
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    def __init__(self, delta: _Optional[str] = ..., logprobs: _Optional[_Iterable[_Union[TokenLogprob, _Mapping]]] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., model: _Optional[str] = ..., deployment: _Optional[str] = ..., cache_hit: bool = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ...) -> None: ...

class LLMEmbedRequest(_message.Message):
    __slots__ = ("model", "inputs", "sensitivity")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    sensitivity: _common_pb2.Sensitivity
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., sensitivity: _Optional[_Union[_common_pb2.Sensitivity, str]] = ...) -> None: ...

class LLMEmbedResponse(_message.Message):
    __slots__ = ("model", "deployment", "embeddings", "usage")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    model: str
    deployment: str
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Embedding]
    usage: _common_pb2.Usage
    def __init__(self, model: _Optional[str] = ..., deployment: _Optional[str] = ..., embeddings: _Optional[_Iterable[_Union[_common_pb2.Embedding, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class UsageWindow(_message.Message):
    __slots__ = ("period", "requests", "input_tokens", "output_tokens", "cost_usd", "budget_usd", "remaining_usd", "cache_hits")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USD_FIELD_NUMBER: _ClassVar[int]
    REMAINING_USD_FIELD_NUMBER: _ClassVar[int]
    CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    period: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    budget_usd: float
    remaining_usd: float
    cache_hits: int
    def __init__(self, period: _Optional[str] = ..., requests: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., budget_usd: _Optional[float] = ..., remaining_usd: _Optional[float] = ..., cache_hits: _Optional[int] = ...) -> None: ...

class ModelUsage(_message.Message):
    __slots__ = ("model", "deployment", "requests", "input_tokens", "output_tokens", "cost_usd")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    model: str
    deployment: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    def __init__(self, model: _Optional[str] = ..., deployment: _Optional[str] = ..., requests: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("tenant", "daily", "monthly", "by_model", "max_tokens_per_request")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    DAILY_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_FIELD_NUMBER: _ClassVar[int]
    BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    daily: UsageWindow
    monthly: UsageWindow
    by_model: _containers.RepeatedCompositeFieldContainer[ModelUsage]
    max_tokens_per_request: int
    def __init__(self, tenant: _Optional[str] = ..., daily: _Optional[_Union[UsageWindow, _Mapping]] = ..., monthly: _Optional[_Union[UsageWindow, _Mapping]] = ..., by_model: _Optional[_Iterable[_Union[ModelUsage, _Mapping]]] = ..., max_tokens_per_request: _Optional[int] = ...) -> None: ...

class ListLLMModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LLMDeploymentInfo(_message.Message):
    __slots__ = ("name", "provider", "model", "residency", "weight", "input_price_per_1k", "output_price_per_1k", "breaker_state")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESIDENCY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    INPUT_PRICE_PER_1K_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PRICE_PER_1K_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    provider: str
    model: str
    residency: str
    weight: float
    input_price_per_1k: float
    output_price_per_1k: float
    breaker_state: str
    def __init__(self, name: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., residency: _Optional[str] = ..., weight: _Optional[float] = ..., input_price_per_1k: _Optional[float] = ..., output_price_per_1k: _Optional[float] = ..., breaker_state: _Optional[str] = ...) -> None: ...

class LLMModelInfo(_message.Message):
    __slots__ = ("alias", "deployments", "fallbacks", "supports_tools", "supports_logprobs", "supports_embeddings")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_TOOLS_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    alias: str
    deployments: _containers.RepeatedCompositeFieldContainer[LLMDeploymentInfo]
    fallbacks: _containers.RepeatedScalarFieldContainer[str]
    supports_tools: bool
    supports_logprobs: bool
    supports_embeddings: bool
    def __init__(self, alias: _Optional[str] = ..., deployments: _Optional[_Iterable[_Union[LLMDeploymentInfo, _Mapping]]] = ..., fallbacks: _Optional[_Iterable[str]] = ..., supports_tools: bool = ..., supports_logprobs: bool = ..., supports_embeddings: bool = ...) -> None: ...

class ListLLMModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[LLMModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[LLMModelInfo, _Mapping]]] = ...) -> None: ...

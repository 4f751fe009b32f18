from agentplane.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InferencePath(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INFERENCE_PATH_UNSPECIFIED: _ClassVar[InferencePath]
    INFERENCE_PATH_TRITON: _ClassVar[InferencePath]
    INFERENCE_PATH_IN_PROCESS: _ClassVar[InferencePath]
INFERENCE_PATH_UNSPECIFIED: InferencePath
INFERENCE_PATH_TRITON: InferencePath
INFERENCE_PATH_IN_PROCESS: InferencePath

class ClassifyRequest(_message.Message):
    __slots__ = ("model", "texts")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[str] = ..., texts: _Optional[_Iterable[str]] = ...) -> None: ...

class LabelProbability(_message.Message):
    __slots__ = ("label", "probability")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    label: str
    probability: float
    def __init__(self, label: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class Classification(_message.Message):
    __slots__ = ("label", "probabilities", "confidence", "out_of_domain", "ood_score", "ood_threshold", "model", "model_version", "truncated", "token_count")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    OOD_SCORE_FIELD_NUMBER: _ClassVar[int]
    OOD_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    label: str
    probabilities: _containers.RepeatedCompositeFieldContainer[LabelProbability]
    confidence: float
    out_of_domain: bool
    ood_score: float
    ood_threshold: float
    model: str
    model_version: str
    truncated: bool
    token_count: int
    def __init__(self, label: _Optional[str] = ..., probabilities: _Optional[_Iterable[_Union[LabelProbability, _Mapping]]] = ..., confidence: _Optional[float] = ..., out_of_domain: bool = ..., ood_score: _Optional[float] = ..., ood_threshold: _Optional[float] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ..., truncated: bool = ..., token_count: _Optional[int] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("results", "path", "degradations")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DEGRADATIONS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Classification]
    path: InferencePath
    degradations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Degradation]
    def __init__(self, results: _Optional[_Iterable[_Union[Classification, _Mapping]]] = ..., path: _Optional[_Union[InferencePath, str]] = ..., degradations: _Optional[_Iterable[_Union[_common_pb2.Degradation, _Mapping]]] = ...) -> None: ...

class DomainEmbedRequest(_message.Message):
    __slots__ = ("model", "texts")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[str] = ..., texts: _Optional[_Iterable[str]] = ...) -> None: ...

class DomainEmbedResponse(_message.Message):
    __slots__ = ("embeddings", "model", "model_version", "dimensions", "path", "degradations", "truncated")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DEGRADATIONS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Embedding]
    model: str
    model_version: str
    dimensions: int
    path: InferencePath
    degradations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Degradation]
    truncated: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, embeddings: _Optional[_Iterable[_Union[_common_pb2.Embedding, _Mapping]]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ..., dimensions: _Optional[int] = ..., path: _Optional[_Union[InferencePath, str]] = ..., degradations: _Optional[_Iterable[_Union[_common_pb2.Degradation, _Mapping]]] = ..., truncated: _Optional[_Iterable[bool]] = ...) -> None: ...

class ModelMetric(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class ModelCard(_message.Message):
    __slots__ = ("description", "training_data", "split", "metrics", "markdown", "json")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    description: str
    training_data: str
    split: str
    metrics: _containers.RepeatedCompositeFieldContainer[ModelMetric]
    markdown: str
    json: str
    def __init__(self, description: _Optional[str] = ..., training_data: _Optional[str] = ..., split: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[ModelMetric, _Mapping]]] = ..., markdown: _Optional[str] = ..., json: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "kind", "labels", "max_tokens", "embedding_dimensions", "card", "path", "ready")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    kind: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    max_tokens: int
    embedding_dimensions: int
    card: ModelCard
    path: InferencePath
    ready: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., kind: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., max_tokens: _Optional[int] = ..., embedding_dimensions: _Optional[int] = ..., card: _Optional[_Union[ModelCard, _Mapping]] = ..., path: _Optional[_Union[InferencePath, str]] = ..., ready: bool = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

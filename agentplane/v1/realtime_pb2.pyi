import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Volatility(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOLATILITY_UNSPECIFIED: _ClassVar[Volatility]
    VOLATILITY_SECONDS: _ClassVar[Volatility]
    VOLATILITY_MINUTES: _ClassVar[Volatility]
    VOLATILITY_HOURS: _ClassVar[Volatility]
    VOLATILITY_DAYS: _ClassVar[Volatility]
    VOLATILITY_STATIC: _ClassVar[Volatility]

class FieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_TYPE_UNSPECIFIED: _ClassVar[FieldType]
    FIELD_TYPE_TEXT: _ClassVar[FieldType]
    FIELD_TYPE_NUMBER: _ClassVar[FieldType]
    FIELD_TYPE_INTEGER: _ClassVar[FieldType]
    FIELD_TYPE_DATE: _ClassVar[FieldType]
    FIELD_TYPE_CURRENCY: _ClassVar[FieldType]
    FIELD_TYPE_URL: _ClassVar[FieldType]
    FIELD_TYPE_BOOLEAN: _ClassVar[FieldType]
    FIELD_TYPE_HTML: _ClassVar[FieldType]
VOLATILITY_UNSPECIFIED: Volatility
VOLATILITY_SECONDS: Volatility
VOLATILITY_MINUTES: Volatility
VOLATILITY_HOURS: Volatility
VOLATILITY_DAYS: Volatility
VOLATILITY_STATIC: Volatility
FIELD_TYPE_UNSPECIFIED: FieldType
FIELD_TYPE_TEXT: FieldType
FIELD_TYPE_NUMBER: FieldType
FIELD_TYPE_INTEGER: FieldType
FIELD_TYPE_DATE: FieldType
FIELD_TYPE_CURRENCY: FieldType
FIELD_TYPE_URL: FieldType
FIELD_TYPE_BOOLEAN: FieldType
FIELD_TYPE_HTML: FieldType

class FetchOptions(_message.Message):
    __slots__ = ("max_length", "start_index", "raw", "bypass_cache", "volatility", "timeout_ms", "include_links")
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    BYPASS_CACHE_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_LINKS_FIELD_NUMBER: _ClassVar[int]
    max_length: int
    start_index: int
    raw: bool
    bypass_cache: bool
    volatility: Volatility
    timeout_ms: int
    include_links: bool
    def __init__(self, max_length: _Optional[int] = ..., start_index: _Optional[int] = ..., raw: bool = ..., bypass_cache: bool = ..., volatility: _Optional[_Union[Volatility, str]] = ..., timeout_ms: _Optional[int] = ..., include_links: bool = ...) -> None: ...

class FetchRequest(_message.Message):
    __slots__ = ("url", "options")
    URL_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    url: str
    options: FetchOptions
    def __init__(self, url: _Optional[str] = ..., options: _Optional[_Union[FetchOptions, _Mapping]] = ...) -> None: ...

class Link(_message.Message):
    __slots__ = ("url", "text")
    URL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    url: str
    text: str
    def __init__(self, url: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class InjectionFinding(_message.Message):
    __slots__ = ("kind", "excerpt", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXCERPT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    excerpt: str
    detail: str
    def __init__(self, kind: _Optional[str] = ..., excerpt: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class InjectionReport(_message.Message):
    __slots__ = ("flagged", "score", "findings")
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    flagged: bool
    score: float
    findings: _containers.RepeatedCompositeFieldContainer[InjectionFinding]
    def __init__(self, flagged: bool = ..., score: _Optional[float] = ..., findings: _Optional[_Iterable[_Union[InjectionFinding, _Mapping]]] = ...) -> None: ...

class FetchResponse(_message.Message):
    __slots__ = ("status_code", "url", "final_url", "content_type", "charset", "title", "text", "markdown", "total_length", "start_index", "next_index", "truncated", "links", "fetched_at", "from_cache", "age_s", "revalidated", "redirects", "injection", "content_bytes")
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FINAL_URL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHARSET_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LENGTH_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    NEXT_INDEX_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    FROM_CACHE_FIELD_NUMBER: _ClassVar[int]
    AGE_S_FIELD_NUMBER: _ClassVar[int]
    REVALIDATED_FIELD_NUMBER: _ClassVar[int]
    REDIRECTS_FIELD_NUMBER: _ClassVar[int]
    INJECTION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    status_code: int
    url: str
    final_url: str
    content_type: str
    charset: str
    title: str
    text: str
    markdown: str
    total_length: int
    start_index: int
    next_index: int
    truncated: bool
    links: _containers.RepeatedCompositeFieldContainer[Link]
    fetched_at: _timestamp_pb2.Timestamp
    from_cache: bool
    age_s: float
    revalidated: bool
    redirects: int
    injection: InjectionReport
    content_bytes: int
    def __init__(self, status_code: _Optional[int] = ..., url: _Optional[str] = ..., final_url: _Optional[str] = ..., content_type: _Optional[str] = ..., charset: _Optional[str] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., markdown: _Optional[str] = ..., total_length: _Optional[int] = ..., start_index: _Optional[int] = ..., next_index: _Optional[int] = ..., truncated: bool = ..., links: _Optional[_Iterable[_Union[Link, _Mapping]]] = ..., fetched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_cache: bool = ..., age_s: _Optional[float] = ..., revalidated: bool = ..., redirects: _Optional[int] = ..., injection: _Optional[_Union[InjectionReport, _Mapping]] = ..., content_bytes: _Optional[int] = ...) -> None: ...

class FieldSpec(_message.Message):
    __slots__ = ("name", "selector", "attribute", "type", "multiple", "required", "fields", "pattern")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    name: str
    selector: str
    attribute: str
    type: FieldType
    multiple: bool
    required: bool
    fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    pattern: str
    def __init__(self, name: _Optional[str] = ..., selector: _Optional[str] = ..., attribute: _Optional[str] = ..., type: _Optional[_Union[FieldType, str]] = ..., multiple: bool = ..., required: bool = ..., fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ..., pattern: _Optional[str] = ...) -> None: ...

class ExtractionSchema(_message.Message):
    __slots__ = ("name", "fields")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    def __init__(self, name: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ...) -> None: ...

class ExtractRequest(_message.Message):
    __slots__ = ("url", "html", "schema", "base_url", "options")
    URL_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    url: str
    html: str
    schema: ExtractionSchema
    base_url: str
    options: FetchOptions
    def __init__(self, url: _Optional[str] = ..., html: _Optional[str] = ..., schema: _Optional[_Union[ExtractionSchema, _Mapping]] = ..., base_url: _Optional[str] = ..., options: _Optional[_Union[FetchOptions, _Mapping]] = ...) -> None: ...

class FieldResult(_message.Message):
    __slots__ = ("name", "found", "count", "required", "error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    found: bool
    count: int
    required: bool
    error: str
    def __init__(self, name: _Optional[str] = ..., found: bool = ..., count: _Optional[int] = ..., required: bool = ..., error: _Optional[str] = ...) -> None: ...

class ExtractResponse(_message.Message):
    __slots__ = ("data", "fields", "completeness", "final_url", "fetched_at", "from_cache", "age_s", "injection")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    COMPLETENESS_FIELD_NUMBER: _ClassVar[int]
    FINAL_URL_FIELD_NUMBER: _ClassVar[int]
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    FROM_CACHE_FIELD_NUMBER: _ClassVar[int]
    AGE_S_FIELD_NUMBER: _ClassVar[int]
    INJECTION_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    fields: _containers.RepeatedCompositeFieldContainer[FieldResult]
    completeness: float
    final_url: str
    fetched_at: _timestamp_pb2.Timestamp
    from_cache: bool
    age_s: float
    injection: InjectionReport
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., fields: _Optional[_Iterable[_Union[FieldResult, _Mapping]]] = ..., completeness: _Optional[float] = ..., final_url: _Optional[str] = ..., fetched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_cache: bool = ..., age_s: _Optional[float] = ..., injection: _Optional[_Union[InjectionReport, _Mapping]] = ...) -> None: ...

class WatchSourceRequest(_message.Message):
    __slots__ = ("source_id", "url", "volatility", "schema", "refresh_interval_s")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    REFRESH_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    url: str
    volatility: Volatility
    schema: ExtractionSchema
    refresh_interval_s: int
    def __init__(self, source_id: _Optional[str] = ..., url: _Optional[str] = ..., volatility: _Optional[_Union[Volatility, str]] = ..., schema: _Optional[_Union[ExtractionSchema, _Mapping]] = ..., refresh_interval_s: _Optional[int] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("source_id", "url", "volatility", "refresh_interval_s", "created_at", "last_refreshed_at", "next_refresh_at", "refresh_count", "consecutive_failures", "last_error", "has_schema")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    REFRESH_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_REFRESHED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_REFRESH_AT_FIELD_NUMBER: _ClassVar[int]
    REFRESH_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    HAS_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    url: str
    volatility: Volatility
    refresh_interval_s: int
    created_at: _timestamp_pb2.Timestamp
    last_refreshed_at: _timestamp_pb2.Timestamp
    next_refresh_at: _timestamp_pb2.Timestamp
    refresh_count: int
    consecutive_failures: int
    last_error: str
    has_schema: bool
    def __init__(self, source_id: _Optional[str] = ..., url: _Optional[str] = ..., volatility: _Optional[_Union[Volatility, str]] = ..., refresh_interval_s: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_refreshed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_refresh_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refresh_count: _Optional[int] = ..., consecutive_failures: _Optional[int] = ..., last_error: _Optional[str] = ..., has_schema: bool = ...) -> None: ...

class GetSnapshotRequest(_message.Message):
    __slots__ = ("source_id",)
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    def __init__(self, source_id: _Optional[str] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("source_id", "url", "fetched_at", "age_s", "stale", "status_code", "title", "text", "data", "completeness", "content_sha256", "changed", "version", "injection")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    AGE_S_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    COMPLETENESS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INJECTION_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    url: str
    fetched_at: _timestamp_pb2.Timestamp
    age_s: float
    stale: bool
    status_code: int
    title: str
    text: str
    data: _struct_pb2.Struct
    completeness: float
    content_sha256: str
    changed: bool
    version: int
    injection: InjectionReport
    def __init__(self, source_id: _Optional[str] = ..., url: _Optional[str] = ..., fetched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., age_s: _Optional[float] = ..., stale: bool = ..., status_code: _Optional[int] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., completeness: _Optional[float] = ..., content_sha256: _Optional[str] = ..., changed: bool = ..., version: _Optional[int] = ..., injection: _Optional[_Union[InjectionReport, _Mapping]] = ...) -> None: ...

class ListSourcesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSourcesResponse(_message.Message):
    __slots__ = ("sources", "next_page_token")
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[Source]
    next_page_token: str
    def __init__(self, sources: _Optional[_Iterable[_Union[Source, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UnwatchSourceRequest(_message.Message):
    __slots__ = ("source_id",)
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    def __init__(self, source_id: _Optional[str] = ...) -> None: ...

class UnwatchSourceResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: bool = ...) -> None: ...

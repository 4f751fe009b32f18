import datetime

from agentplane.v1 import common_pb2 as _common_pb2
from agentplane.v1 import realtime_pb2 as _realtime_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_RECEIVED: _ClassVar[TaskState]
    TASK_STATE_RUNNING: _ClassVar[TaskState]
    TASK_STATE_COMPLETED: _ClassVar[TaskState]
    TASK_STATE_NEEDS_REVIEW: _ClassVar[TaskState]
    TASK_STATE_NEEDS_CLARIFICATION: _ClassVar[TaskState]
    TASK_STATE_FAILED: _ClassVar[TaskState]
    TASK_STATE_CANCELLED: _ClassVar[TaskState]
    TASK_STATE_REJECTED: _ClassVar[TaskState]

class Route(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTE_UNSPECIFIED: _ClassVar[Route]
    ROUTE_DOMAIN: _ClassVar[Route]
    ROUTE_LLM: _ClassVar[Route]
    ROUTE_REALTIME: _ClassVar[Route]
    ROUTE_REALTIME_LLM: _ClassVar[Route]
    ROUTE_AGENT: _ClassVar[Route]
    ROUTE_EXTERNAL_TOOL: _ClassVar[Route]

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_DOMAIN_CLASSIFY: _ClassVar[Capability]
    CAPABILITY_LLM_COMPLETE: _ClassVar[Capability]
    CAPABILITY_REALTIME_FETCH: _ClassVar[Capability]
    CAPABILITY_REALTIME_EXTRACT: _ClassVar[Capability]
    CAPABILITY_EXTERNAL_TOOL: _ClassVar[Capability]

class StepStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATUS_UNSPECIFIED: _ClassVar[StepStatus]
    STEP_STATUS_PENDING: _ClassVar[StepStatus]
    STEP_STATUS_RUNNING: _ClassVar[StepStatus]
    STEP_STATUS_SUCCEEDED: _ClassVar[StepStatus]
    STEP_STATUS_DEGRADED: _ClassVar[StepStatus]
    STEP_STATUS_FAILED: _ClassVar[StepStatus]
    STEP_STATUS_SKIPPED: _ClassVar[StepStatus]

class TaskEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_EVENT_TYPE_UNSPECIFIED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_RECEIVED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_ANALYSED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_STEP_STARTED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_STEP_DONE: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_CONFIDENCE: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_ESCALATED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_CLARIFICATION_NEEDED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_COMPLETED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_FAILED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_CANCELLED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_REVIEW_RESOLVED: _ClassVar[TaskEventType]

class ReviewState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_STATE_UNSPECIFIED: _ClassVar[ReviewState]
    REVIEW_STATE_PENDING: _ClassVar[ReviewState]
    REVIEW_STATE_APPROVED: _ClassVar[ReviewState]
    REVIEW_STATE_REJECTED: _ClassVar[ReviewState]
    REVIEW_STATE_EDITED: _ClassVar[ReviewState]
    REVIEW_STATE_EXPIRED: _ClassVar[ReviewState]

class ReviewDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_DECISION_UNSPECIFIED: _ClassVar[ReviewDecision]
    REVIEW_DECISION_APPROVE: _ClassVar[ReviewDecision]
    REVIEW_DECISION_REJECT: _ClassVar[ReviewDecision]
    REVIEW_DECISION_EDIT: _ClassVar[ReviewDecision]
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_RECEIVED: TaskState
TASK_STATE_RUNNING: TaskState
TASK_STATE_COMPLETED: TaskState
TASK_STATE_NEEDS_REVIEW: TaskState
TASK_STATE_NEEDS_CLARIFICATION: TaskState
TASK_STATE_FAILED: TaskState
TASK_STATE_CANCELLED: TaskState
TASK_STATE_REJECTED: TaskState
ROUTE_UNSPECIFIED: Route
ROUTE_DOMAIN: Route
ROUTE_LLM: Route
ROUTE_REALTIME: Route
ROUTE_REALTIME_LLM: Route
ROUTE_AGENT: Route
ROUTE_EXTERNAL_TOOL: Route
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_DOMAIN_CLASSIFY: Capability
CAPABILITY_LLM_COMPLETE: Capability
CAPABILITY_REALTIME_FETCH: Capability
CAPABILITY_REALTIME_EXTRACT: Capability
CAPABILITY_EXTERNAL_TOOL: Capability
STEP_STATUS_UNSPECIFIED: StepStatus
STEP_STATUS_PENDING: StepStatus
STEP_STATUS_RUNNING: StepStatus
STEP_STATUS_SUCCEEDED: StepStatus
STEP_STATUS_DEGRADED: StepStatus
STEP_STATUS_FAILED: StepStatus
STEP_STATUS_SKIPPED: StepStatus
TASK_EVENT_TYPE_UNSPECIFIED: TaskEventType
TASK_EVENT_TYPE_RECEIVED: TaskEventType
TASK_EVENT_TYPE_ANALYSED: TaskEventType
TASK_EVENT_TYPE_STEP_STARTED: TaskEventType
TASK_EVENT_TYPE_STEP_DONE: TaskEventType
TASK_EVENT_TYPE_CONFIDENCE: TaskEventType
TASK_EVENT_TYPE_ESCALATED: TaskEventType
TASK_EVENT_TYPE_CLARIFICATION_NEEDED: TaskEventType
TASK_EVENT_TYPE_COMPLETED: TaskEventType
TASK_EVENT_TYPE_FAILED: TaskEventType
TASK_EVENT_TYPE_CANCELLED: TaskEventType
TASK_EVENT_TYPE_REVIEW_RESOLVED: TaskEventType
REVIEW_STATE_UNSPECIFIED: ReviewState
REVIEW_STATE_PENDING: ReviewState
REVIEW_STATE_APPROVED: ReviewState
REVIEW_STATE_REJECTED: ReviewState
REVIEW_STATE_EDITED: ReviewState
REVIEW_STATE_EXPIRED: ReviewState
REVIEW_DECISION_UNSPECIFIED: ReviewDecision
REVIEW_DECISION_APPROVE: ReviewDecision
REVIEW_DECISION_REJECT: ReviewDecision
REVIEW_DECISION_EDIT: ReviewDecision

class SubmitTaskRequest(_message.Message):
    __slots__ = ("text", "task_type", "session_id", "idempotency_key", "sensitivity", "urls", "schema", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    text: str
    task_type: str
    session_id: str
    idempotency_key: str
    sensitivity: _common_pb2.Sensitivity
    urls: _containers.RepeatedScalarFieldContainer[str]
    schema: _realtime_pb2.ExtractionSchema
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, text: _Optional[str] = ..., task_type: _Optional[str] = ..., session_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., sensitivity: _Optional[_Union[_common_pb2.Sensitivity, str]] = ..., urls: _Optional[_Iterable[str]] = ..., schema: _Optional[_Union[_realtime_pb2.ExtractionSchema, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RouteScore(_message.Message):
    __slots__ = ("route", "score", "reason")
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    route: Route
    score: float
    reason: str
    def __init__(self, route: _Optional[_Union[Route, str]] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class PlanStep(_message.Message):
    __slots__ = ("step_id", "capability", "target", "depends_on", "purpose")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    capability: Capability
    target: str
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    purpose: str
    def __init__(self, step_id: _Optional[str] = ..., capability: _Optional[_Union[Capability, str]] = ..., target: _Optional[str] = ..., depends_on: _Optional[_Iterable[str]] = ..., purpose: _Optional[str] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("route", "steps", "candidates", "rules_fired", "rationale", "ambiguous")
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    RULES_FIRED_FIELD_NUMBER: _ClassVar[int]
    RATIONALE_FIELD_NUMBER: _ClassVar[int]
    AMBIGUOUS_FIELD_NUMBER: _ClassVar[int]
    route: Route
    steps: _containers.RepeatedCompositeFieldContainer[PlanStep]
    candidates: _containers.RepeatedCompositeFieldContainer[RouteScore]
    rules_fired: _containers.RepeatedScalarFieldContainer[str]
    rationale: str
    ambiguous: bool
    def __init__(self, route: _Optional[_Union[Route, str]] = ..., steps: _Optional[_Iterable[_Union[PlanStep, _Mapping]]] = ..., candidates: _Optional[_Iterable[_Union[RouteScore, _Mapping]]] = ..., rules_fired: _Optional[_Iterable[str]] = ..., rationale: _Optional[str] = ..., ambiguous: bool = ...) -> None: ...

class StepResult(_message.Message):
    __slots__ = ("step_id", "capability", "status", "target", "summary", "confidence", "latency_ms", "attempts", "error", "degradations")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DEGRADATIONS_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    capability: Capability
    status: StepStatus
    target: str
    summary: str
    confidence: _common_pb2.Confidence
    latency_ms: float
    attempts: int
    error: str
    degradations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Degradation]
    def __init__(self, step_id: _Optional[str] = ..., capability: _Optional[_Union[Capability, str]] = ..., status: _Optional[_Union[StepStatus, str]] = ..., target: _Optional[str] = ..., summary: _Optional[str] = ..., confidence: _Optional[_Union[_common_pb2.Confidence, _Mapping]] = ..., latency_ms: _Optional[float] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ..., degradations: _Optional[_Iterable[_Union[_common_pb2.Degradation, _Mapping]]] = ...) -> None: ...

class TaskResult(_message.Message):
    __slots__ = ("answer", "route", "confidence", "steps", "data", "degradations", "sources", "usage", "reviewed")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DEGRADATIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_FIELD_NUMBER: _ClassVar[int]
    answer: str
    route: Route
    confidence: _common_pb2.Confidence
    steps: _containers.RepeatedCompositeFieldContainer[StepResult]
    data: _struct_pb2.Struct
    degradations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Degradation]
    sources: _containers.RepeatedScalarFieldContainer[str]
    usage: _common_pb2.Usage
    reviewed: bool
    def __init__(self, answer: _Optional[str] = ..., route: _Optional[_Union[Route, str]] = ..., confidence: _Optional[_Union[_common_pb2.Confidence, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[StepResult, _Mapping]]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., degradations: _Optional[_Iterable[_Union[_common_pb2.Degradation, _Mapping]]] = ..., sources: _Optional[_Iterable[str]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., reviewed: bool = ...) -> None: ...

class Clarification(_message.Message):
    __slots__ = ("question", "options", "reason")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    question: str
    options: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, question: _Optional[str] = ..., options: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("task_id", "tenant", "session_id", "idempotency_key", "state", "text", "task_type", "sensitivity", "plan", "result", "clarification", "review_id", "error", "trace_id", "created_at", "updated_at", "completed_at", "attempts", "escalation_reason", "confidence_threshold")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CLARIFICATION_FIELD_NUMBER: _ClassVar[int]
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_REASON_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    tenant: str
    session_id: str
    idempotency_key: str
    state: TaskState
    text: str
    task_type: str
    sensitivity: _common_pb2.Sensitivity
    plan: Plan
    result: TaskResult
    clarification: Clarification
    review_id: str
    error: str
    trace_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    attempts: int
    escalation_reason: str
    confidence_threshold: float
    def __init__(self, task_id: _Optional[str] = ..., tenant: _Optional[str] = ..., session_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., text: _Optional[str] = ..., task_type: _Optional[str] = ..., sensitivity: _Optional[_Union[_common_pb2.Sensitivity, str]] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ..., result: _Optional[_Union[TaskResult, _Mapping]] = ..., clarification: _Optional[_Union[Clarification, _Mapping]] = ..., review_id: _Optional[str] = ..., error: _Optional[str] = ..., trace_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., escalation_reason: _Optional[str] = ..., confidence_threshold: _Optional[float] = ...) -> None: ...

class StreamTaskRequest(_message.Message):
    __slots__ = ("submit", "task_id")
    SUBMIT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    submit: SubmitTaskRequest
    task_id: str
    def __init__(self, submit: _Optional[_Union[SubmitTaskRequest, _Mapping]] = ..., task_id: _Optional[str] = ...) -> None: ...

class TaskEvent(_message.Message):
    __slots__ = ("task_id", "sequence", "type", "at", "message", "plan", "step", "confidence", "task")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    sequence: int
    type: TaskEventType
    at: _timestamp_pb2.Timestamp
    message: str
    plan: Plan
    step: StepResult
    confidence: _common_pb2.Confidence
    task: Task
    def __init__(self, task_id: _Optional[str] = ..., sequence: _Optional[int] = ..., type: _Optional[_Union[TaskEventType, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ..., step: _Optional[_Union[StepResult, _Mapping]] = ..., confidence: _Optional[_Union[_common_pb2.Confidence, _Mapping]] = ..., task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class CancelTaskRequest(_message.Message):
    __slots__ = ("task_id", "reason")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    reason: str
    def __init__(self, task_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("review_id", "task_id", "tenant", "state", "task_type", "task_text", "proposed_answer", "route", "confidence", "reason", "created_at", "expires_at", "resolved_at", "reviewer", "comment", "final_answer")
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_TEXT_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_ANSWER_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    FINAL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    review_id: str
    task_id: str
    tenant: str
    state: ReviewState
    task_type: str
    task_text: str
    proposed_answer: str
    route: Route
    confidence: _common_pb2.Confidence
    reason: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    resolved_at: _timestamp_pb2.Timestamp
    reviewer: str
    comment: str
    final_answer: str
    def __init__(self, review_id: _Optional[str] = ..., task_id: _Optional[str] = ..., tenant: _Optional[str] = ..., state: _Optional[_Union[ReviewState, str]] = ..., task_type: _Optional[str] = ..., task_text: _Optional[str] = ..., proposed_answer: _Optional[str] = ..., route: _Optional[_Union[Route, str]] = ..., confidence: _Optional[_Union[_common_pb2.Confidence, _Mapping]] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reviewer: _Optional[str] = ..., comment: _Optional[str] = ..., final_answer: _Optional[str] = ...) -> None: ...

class ListReviewsRequest(_message.Message):
    __slots__ = ("state", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: ReviewState
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[ReviewState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReviewsResponse(_message.Message):
    __slots__ = ("reviews", "next_page_token")
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[Review]
    next_page_token: str
    def __init__(self, reviews: _Optional[_Iterable[_Union[Review, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ResolveReviewRequest(_message.Message):
    __slots__ = ("review_id", "decision", "edited_answer", "comment")
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    EDITED_ANSWER_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    review_id: str
    decision: ReviewDecision
    edited_answer: str
    comment: str
    def __init__(self, review_id: _Optional[str] = ..., decision: _Optional[_Union[ReviewDecision, str]] = ..., edited_answer: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ResolveReviewResponse(_message.Message):
    __slots__ = ("review", "task")
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    review: Review
    task: Task
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ..., task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("sequence", "tenant", "task_id", "action", "actor", "trace_id", "at", "details_json", "prev_hash", "hash")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    tenant: str
    task_id: str
    action: str
    actor: str
    trace_id: str
    at: _timestamp_pb2.Timestamp
    details_json: str
    prev_hash: str
    hash: str
    def __init__(self, sequence: _Optional[int] = ..., tenant: _Optional[str] = ..., task_id: _Optional[str] = ..., action: _Optional[str] = ..., actor: _Optional[str] = ..., trace_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., details_json: _Optional[str] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class GetAuditTrailRequest(_message.Message):
    __slots__ = ("task_id", "after_sequence", "page_size")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    after_sequence: int
    page_size: int
    def __init__(self, task_id: _Optional[str] = ..., after_sequence: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class GetAuditTrailResponse(_message.Message):
    __slots__ = ("events", "next_after_sequence")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_after_sequence: int
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_after_sequence: _Optional[int] = ...) -> None: ...

class VerifyAuditTrailRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditTrailResponse(_message.Message):
    __slots__ = ("valid", "events_checked", "first_bad_sequence", "problem", "head_hash")
    VALID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    events_checked: int
    first_bad_sequence: int
    problem: str
    head_hash: str
    def __init__(self, valid: bool = ..., events_checked: _Optional[int] = ..., first_bad_sequence: _Optional[int] = ..., problem: _Optional[str] = ..., head_hash: _Optional[str] = ...) -> None: ...

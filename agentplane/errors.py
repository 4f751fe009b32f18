"""The agentplane error hierarchy: one error type per gRPC status, with rich details.

Layer: shared core, domain level. This module imports neither grpc nor any
generated code: domain modules of every service raise these errors, and one place
(`agentplane.rpc.status`) turns them into a `google.rpc.Status` on the wire and
back into the same typed errors on the client side.

    AgentplaneError                 UNKNOWN
    ├── InvalidArgumentError        INVALID_ARGUMENT   (BadRequest field violations)
    ├── NotFoundError               NOT_FOUND
    ├── AlreadyExistsError          ALREADY_EXISTS
    ├── PermissionDeniedError       PERMISSION_DENIED
    ├── UnauthenticatedError        UNAUTHENTICATED
    ├── FailedPreconditionError     FAILED_PRECONDITION (PreconditionFailure)
    ├── ResourceExhaustedError      RESOURCE_EXHAUSTED (QuotaFailure, RetryInfo)
    ├── AbortedError                ABORTED
    ├── CancelledError              CANCELLED
    ├── DeadlineExceededError       DEADLINE_EXCEEDED
    ├── UnavailableError            UNAVAILABLE        (RetryInfo)
    ├── UnimplementedError          UNIMPLEMENTED
    └── InternalError               INTERNAL

Every error also carries an `ErrorInfo`-style machine-readable `reason`
(e.g. "RATE_LIMITED") and string `metadata`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ERROR_DOMAIN",
    "AbortedError",
    "AgentplaneError",
    "AlreadyExistsError",
    "CancelledError",
    "Code",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "error_for_code",
]

ERROR_DOMAIN = "agentplane.dev"


class Code(enum.IntEnum):
    """Canonical status codes (google.rpc.Code values)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request (google.rpc.BadRequest.FieldViolation)."""

    field: str
    description: str


class AgentplaneError(Exception):
    """Base of every error a service reports to its callers.

    Args:
        message: Human-readable, actionable description (the status message).
        reason: Machine-readable UPPER_SNAKE reason (google.rpc.ErrorInfo.reason).
        metadata: Extra string facts (ErrorInfo.metadata), e.g. {"tenant": "acme"}.
        retry_after_s: When set, callers may retry after this many seconds (RetryInfo).
        violations: Bad request fields (BadRequest) or failed preconditions.
    """

    code: Code = Code.UNKNOWN
    default_reason: str = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after_s: float | None = None,
        violations: Sequence[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})
        self.retry_after_s = retry_after_s
        self.violations: tuple[FieldViolation, ...] = tuple(violations)

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if sent again later."""
        return self.code in _RETRYABLE

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, reason={self.reason!r})"


class InvalidArgumentError(AgentplaneError):
    """The request is malformed; sending it again will not help."""

    code = Code.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"


class NotFoundError(AgentplaneError):
    """The named resource (model, task, review, source) does not exist for the caller."""

    code = Code.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExistsError(AgentplaneError):
    """The resource to create exists already."""

    code = Code.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class PermissionDeniedError(AgentplaneError):
    """The caller is known but may not do this (role, tenant, SSRF guard, robots.txt)."""

    code = Code.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class UnauthenticatedError(AgentplaneError):
    """No credentials, or credentials that match no key."""

    code = Code.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class FailedPreconditionError(AgentplaneError):
    """The system is not in a state that allows the request (e.g. no on_prem deployment)."""

    code = Code.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class ResourceExhaustedError(AgentplaneError):
    """A quota, rate limit, budget or size limit refused the request."""

    code = Code.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class AbortedError(AgentplaneError):
    """A concurrency conflict; retrying the whole operation may succeed."""

    code = Code.ABORTED
    default_reason = "ABORTED"


class CancelledError(AgentplaneError):
    """The operation was cancelled (by its caller or by CancelTask)."""

    code = Code.CANCELLED
    default_reason = "CANCELLED"


class DeadlineExceededError(AgentplaneError):
    """The deadline passed before the operation finished."""

    code = Code.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class UnavailableError(AgentplaneError):
    """A dependency is down or overloaded; retry with backoff."""

    code = Code.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class UnimplementedError(AgentplaneError):
    """The method exists in the contract but this server does not offer it."""

    code = Code.UNIMPLEMENTED
    default_reason = "UNIMPLEMENTED"


class InternalError(AgentplaneError):
    """A bug or broken invariant on the server side."""

    code = Code.INTERNAL
    default_reason = "INTERNAL"


_RETRYABLE = frozenset({Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.ABORTED, Code.DEADLINE_EXCEEDED})

_BY_CODE: dict[Code, type[AgentplaneError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        UnauthenticatedError,
        FailedPreconditionError,
        ResourceExhaustedError,
        AbortedError,
        CancelledError,
        DeadlineExceededError,
        UnavailableError,
        UnimplementedError,
        InternalError,
    )
}


def error_for_code(code: int) -> type[AgentplaneError]:
    """Return the error class for a canonical status code (AgentplaneError if none)."""
    try:
        return _BY_CODE.get(Code(code), AgentplaneError)
    except ValueError:
        return AgentplaneError

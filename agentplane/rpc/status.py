"""Translation between `agentplane.errors` and rich gRPC status (google.rpc).

Layer: shared core, RPC boundary. The server side turns an `AgentplaneError` into a
`google.rpc.Status` with `ErrorInfo`, `RetryInfo`, `QuotaFailure`, `BadRequest` and
`PreconditionFailure` details (sent in the `grpc-status-details-bin` trailer); the
client side turns a received status back into the same typed error.
"""

from __future__ import annotations

import math

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from agentplane.errors import (
    ERROR_DOMAIN,
    AgentplaneError,
    Code,
    FieldViolation,
    error_for_code,
)

__all__ = ["from_rpc_error", "grpc_code", "to_grpc_status"]

_GRPC_CODES: dict[int, grpc.StatusCode] = {sc.value[0]: sc for sc in grpc.StatusCode}


def grpc_code(code: Code) -> grpc.StatusCode:
    """Map a canonical code to grpc.StatusCode."""
    return _GRPC_CODES[int(code)]


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_rich_status(err: AgentplaneError) -> status_pb2.Status:
    """Build the google.rpc.Status for an error, details included."""
    details = [_pack(error_details_pb2.ErrorInfo(reason=err.reason, domain=ERROR_DOMAIN, metadata=err.metadata))]
    if err.retry_after_s is not None:
        seconds = max(0.0, err.retry_after_s)
        whole = math.floor(seconds)
        delay = duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    if err.code == Code.RESOURCE_EXHAUSTED:
        subject = err.metadata.get("subject", err.metadata.get("tenant", ""))
        details.append(
            _pack(
                error_details_pb2.QuotaFailure(
                    violations=[error_details_pb2.QuotaFailure.Violation(subject=subject, description=err.message)]
                )
            )
        )
    if err.violations and err.code == Code.FAILED_PRECONDITION:
        details.append(
            _pack(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=err.reason, subject=v.field, description=v.description
                        )
                        for v in err.violations
                    ]
                )
            )
        )
    elif err.violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in err.violations
                    ]
                )
            )
        )
    return status_pb2.Status(code=int(err.code), message=err.message, details=details)


def to_grpc_status(err: AgentplaneError) -> grpc.Status:
    """The grpc.Status to abort a call with (`context.abort_with_status`)."""
    return rpc_status.to_status(to_rich_status(err))


def _from_rich(code: int, message: str, rich: status_pb2.Status | None) -> AgentplaneError:
    reason: str | None = None
    metadata: dict[str, str] = {}
    retry_after: float | None = None
    violations: list[FieldViolation] = []
    for detail in rich.details if rich is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            pre = error_details_pb2.PreconditionFailure()
            detail.Unpack(pre)
            violations += [FieldViolation(v.subject, v.description) for v in pre.violations]
    cls = error_for_code(code)
    return cls(message, reason=reason, metadata=metadata, retry_after_s=retry_after, violations=violations)


_TLS_MARKERS = ("handshake", "ssl_error", "tsi_", "certificate")


def _connection_hint(details: str) -> str:
    """gRPC reports failed TLS set-ups tersely: say what to check."""
    lowered = details.lower()
    if any(marker in lowered for marker in _TLS_MARKERS):
        return (
            f"TLS handshake failed ({details}): check client.tls.ca_file (the CA that signed the server's "
            "certificate) and, for servers that require client certificates, client.tls.cert_file and key_file"
        )
    if "socket closed" in lowered:
        return (
            f"the server closed the connection before answering ({details}); a server that requires TLS client "
            "certificates does this when the TLS handshake fails: this client presented no client certificate or "
            "one its CA did not sign (client.tls.cert_file, key_file)"
        )
    return details


def from_rpc_error(exc: grpc.RpcError) -> AgentplaneError:
    """Turn a received gRPC error (sync or aio) into the typed agentplane error.

    The original exception should be chained by the caller (`raise ... from exc`).
    """
    call = exc  # grpc.RpcError raised by stubs is also a grpc.Call
    code = call.code()
    message = call.details() or ""
    rich: status_pb2.Status | None = None
    for key, value in call.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            rich = status_pb2.Status.FromString(value)
            break
    if code == grpc.StatusCode.UNAVAILABLE and rich is None:
        message = _connection_hint(message)
    return _from_rich(code.value[0], message, rich)

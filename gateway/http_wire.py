"""What the OpenAI-compatible HTTP front reads and writes besides the request bodies.

Layer: domain (pure translation, no I/O, no aiohttp). Encodes chat results and
stream chunks in OpenAI's shapes (SSE `data:` frames included), errors in
OpenAI's error shape with an HTTP status, Retry-After and `x-should-retry`
(which the openai SDK obeys), and reads the gateway's extensions (sensitivity,
PII, cache policy) from `x-agentplane-*` headers or an `agentplane` body object
(the SDK's `extra_body`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from agentplane.errors import AgentplaneError, Code, FieldViolation, InvalidArgumentError
from gateway.models import Attempt, CacheMode, ChatChunk, ChatRequest, ChatResult, Sensitivity, Usage
from gateway.openai_wire import logprobs_to_openai, tool_calls_to_openai

__all__ = [
    "apply_extensions",
    "chunk_frames",
    "completion_body",
    "error_body",
    "error_frame",
    "error_status",
    "sensitivity_of",
    "usage_frame",
]

_STATUS = {
    Code.INVALID_ARGUMENT: 400,
    Code.UNAUTHENTICATED: 401,
    Code.PERMISSION_DENIED: 403,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.ABORTED: 409,
    Code.FAILED_PRECONDITION: 412,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.CANCELLED: 499,
    Code.INTERNAL: 500,
    Code.UNIMPLEMENTED: 501,
    Code.UNAVAILABLE: 503,
    Code.DEADLINE_EXCEEDED: 504,
}
# The `error.type` of each status, as OpenAI's API writes it; the openai SDK picks its
# exception class by status alone (400 BadRequestError ... 429 RateLimitError, >= 500
# InternalServerError), which tests/gateway/test_http_errors.py checks status by status.
_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    412: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    499: "invalid_request_error",
    500: "server_error",
    501: "invalid_request_error",
    502: "server_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}
# Reasons whose status or type differs from their code's.
_STATUS_OF_REASON = {"REQUEST_TOO_LARGE": 413}
_TYPE_OF_REASON = {"BUDGET_EXCEEDED": "insufficient_quota"}
_SENSITIVITY = {s.name.lower(): s for s in Sensitivity}
_CACHE_MODES = {m.value: m for m in CacheMode}
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def error_status(err: AgentplaneError) -> int:
    """The HTTP status of an error (502 when an upstream failed us, 503 when we shed load, 413 for a body too large)."""
    if err.code == Code.UNAVAILABLE and err.reason.startswith(("UPSTREAM_", "STREAM_")):
        return 502
    return _STATUS_OF_REASON.get(err.reason) or _STATUS.get(err.code, 500)


def _error_doc(err: AgentplaneError, status: int) -> dict[str, Any]:
    return {
        "error": {
            "message": err.message,
            "type": _TYPE_OF_REASON.get(err.reason) or _TYPE.get(status, "server_error"),
            "param": err.violations[0].field if err.violations else None,
            "code": err.reason.lower(),
        }
    }


def error_body(err: AgentplaneError) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) of an error response."""
    status = error_status(err)
    headers = {"x-should-retry": "true" if err.retryable and err.reason != "BUDGET_EXCEEDED" else "false"}
    if err.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, math.ceil(err.retry_after_s)))
        headers["retry-after-ms"] = str(int(err.retry_after_s * 1000))
    return status, _DUMPS(_error_doc(err, status)).encode(), headers


def error_frame(err: AgentplaneError) -> bytes:
    """An SSE frame that ends a stream with an error (the openai SDK raises APIError on it)."""
    return b"data: " + _DUMPS(_error_doc(err, error_status(err))).encode() + b"\n\n"


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def _attempts(attempts: list[Attempt]) -> list[dict[str, Any]]:
    return [
        {
            "alias": a.alias,
            "deployment": a.deployment,
            "outcome": a.outcome,
            "reason": a.reason,
            "latency_ms": round(a.latency_ms, 3),
            "error": a.error,
            "http_status": a.http_status,
        }
        for a in attempts
    ]


_PLAIN_COMPLETION = (
    '{"id":%s,"object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,'
    '"message":{"role":"assistant","content":%s},"logprobs":null,"finish_reason":%s}],'
    '"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d},'
    '"agentplane":{"deployment":%s,"provider":%s,"residency":%s,"cache_hit":%s,"pii_redacted":%s,'
    '"cost_usd":%s,"upstream_calls":%d,"usage_estimated":%s}}'
)
_BOOL = {True: "true", False: "false"}


def _plain_completion(result: ChatResult, created: int) -> bytes:
    # The common answer (text only, one clean attempt) filled into a template: same bytes as
    # the dict path, a fraction of its cost.
    c, u, q = result.completion, result.usage, encode_basestring
    return (
        _PLAIN_COMPLETION
        % (
            q(result.id),
            created,
            q(result.alias),
            q(c.content),
            q(c.finish_reason),
            u.input_tokens,
            u.output_tokens,
            u.input_tokens + u.output_tokens,
            q(result.deployment),
            q(result.provider),
            q(result.residency),
            _BOOL[result.cache_hit],
            _BOOL[result.pii_redacted],
            float.__repr__(float(u.cost_usd)),
            u.upstream_calls,
            _BOOL[u.estimated],
        )
    ).encode()


def completion_body(result: ChatResult, created: int) -> bytes:
    """The chat.completion document of a result, with an `agentplane` extension object."""
    c = result.completion
    attempts = result.attempts
    notable = len(attempts) > 1 or (attempts and attempts[0].outcome != "ok")
    if not c.tool_calls and c.logprobs is None and not notable and math.isfinite(result.usage.cost_usd):
        return _plain_completion(result, created)
    message: dict[str, Any] = {"role": "assistant", "content": c.content}
    if c.tool_calls:
        message["tool_calls"] = tool_calls_to_openai(c.tool_calls)
        if not c.content:
            message["content"] = None
    doc = {
        "id": result.id,
        "object": "chat.completion",
        "created": created,
        "model": result.alias,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": logprobs_to_openai(c.logprobs),
                "finish_reason": c.finish_reason,
            }
        ],
        "usage": _usage(result.usage),
        "agentplane": {
            "deployment": result.deployment,
            "provider": result.provider,
            "residency": result.residency,
            "cache_hit": result.cache_hit,
            "pii_redacted": result.pii_redacted,
            "cost_usd": result.usage.cost_usd,
            "upstream_calls": result.usage.upstream_calls,
            "usage_estimated": result.usage.estimated,
        },
    }
    if notable:  # the routing story, when there is one
        doc["agentplane"]["attempts"] = _attempts(attempts)  # type: ignore[index]
    return _DUMPS(doc).encode()


def _frame(chunk_id: str, created: int, model: str, delta: dict[str, Any], logprobs: Any, finish: str | None) -> bytes:
    doc = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
    }
    return b"data: " + _DUMPS(doc).encode() + b"\n\n"


def chunk_frames(chunk: ChatChunk, model: str, created: int) -> bytes:
    """The SSE frames of one chunk (a final chunk may need up to three)."""
    delta: dict[str, Any] = {"role": "assistant", "content": chunk.delta} if chunk.first else {"content": chunk.delta}
    lp = logprobs_to_openai(chunk.logprobs) if chunk.logprobs else None
    if not chunk.finish_reason:
        return _frame(chunk.id, created, model, delta, lp, None)
    frames = b""
    if chunk.delta or chunk.first:
        frames += _frame(chunk.id, created, model, delta, lp, None)
    if chunk.tool_calls:
        calls = [{"index": i, **call} for i, call in enumerate(tool_calls_to_openai(chunk.tool_calls))]
        frames += _frame(chunk.id, created, model, {"tool_calls": calls}, None, None)
    return frames + _frame(chunk.id, created, model, {}, None, chunk.finish_reason)


def usage_frame(chunk: ChatChunk, model: str, created: int) -> bytes:
    """The usage-only frame sent when the caller asked for `stream_options.include_usage`."""
    usage = chunk.usage or Usage()
    doc = {
        "id": chunk.id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": _usage(usage),
        "agentplane": {"cost_usd": usage.cost_usd, "attempts": _attempts(chunk.attempts or [])},
    }
    return b"data: " + _DUMPS(doc).encode() + b"\n\n"


def _bad(field: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{field}: {problem}", reason="INVALID_REQUEST", violations=[FieldViolation(field, problem)]
    )


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    raise _bad(field, "must be a boolean")


def sensitivity_of(doc: Mapping[str, Any], headers: Mapping[str, str]) -> Sensitivity:
    """The request's sensitivity from `agentplane.sensitivity` or `x-agentplane-sensitivity` (default internal).

    Raises:
        InvalidArgumentError: An unknown value.
    """
    ext = doc.get("agentplane")
    raw = ext.get("sensitivity") if isinstance(ext, dict) else None
    if raw is None:
        raw = headers.get("x-agentplane-sensitivity")
    if raw is None:
        return Sensitivity.INTERNAL
    value = _SENSITIVITY.get(str(raw).lower())
    if value is None:
        raise _bad("agentplane.sensitivity", "must be public, internal, confidential or restricted")
    return value


def apply_extensions(req: ChatRequest, doc: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    """Set sensitivity, PII redaction and cache policy from the body's `agentplane` object or headers.

    Raises:
        InvalidArgumentError: An unknown value.
    """
    ext = doc.get("agentplane")
    if ext is not None and not isinstance(ext, dict):
        raise _bad("agentplane", "must be an object")
    ext = ext or {}
    cache = ext.get("cache") or {}
    req.sensitivity = sensitivity_of(doc, headers)
    redact = ext.get("redact_pii", headers.get("x-agentplane-redact-pii"))
    if redact is not None:
        req.redact_pii = _flag(redact, "agentplane.redact_pii")
    mode = cache.get("mode", headers.get("x-agentplane-cache"))
    if mode is not None:
        parsed = _CACHE_MODES.get(str(mode).lower())
        if parsed is None:
            raise _bad("agentplane.cache.mode", "must be use, bypass or refresh")
        req.cache_mode = parsed
    sampling = cache.get("allow_sampling", headers.get("x-agentplane-cache-allow-sampling"))
    if sampling is not None:
        req.cache_allow_sampling = _flag(sampling, "agentplane.cache.allow_sampling")
    ttl = cache.get("ttl_s", headers.get("x-agentplane-cache-ttl"))
    if ttl is not None:
        try:
            req.cache_ttl_s = int(ttl)
        except (TypeError, ValueError):
            raise _bad("agentplane.cache.ttl_s", "must be an integer number of seconds") from None

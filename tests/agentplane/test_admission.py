"""Caller admission, the one path of every front: key → principal → context → tenant limits → errors."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from multidict import CIMultiDict

from agentplane.admission import Admission, error_of, presented_key
from agentplane.errors import (
    InternalError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
)
from agentplane.request_context import RequestContext
from agentplane.settings import ServiceSettings
from tests.support.keys import raw_key
from tests.support.settings import test_settings


def _admission(tmp_path: Path, **overrides: object) -> Admission:
    return Admission.from_settings(test_settings(ServiceSettings, "probe", tmp_path, **overrides))


def test_grpc_metadata_and_http_headers_admit_the_same_caller(tmp_path: Path) -> None:
    admission = _admission(tmp_path)
    key = raw_key("globex-user")
    as_grpc = admission.admit({"x-api-key": key}, method="/svc/M", timeout_s=None)
    as_http = admission.admit(CIMultiDict({"Authorization": f"Bearer {key}"}), method="POST /v1/x", timeout_s=None)
    for admitted in (as_grpc, as_http):
        principal = admitted.context.principal
        assert principal is not None and (principal.name, principal.tenant) == ("globex-user", "globex")
        admitted.release()
    assert as_grpc.context.request_id != as_http.context.request_id


def test_ids_and_deadline_come_from_the_request(tmp_path: Path) -> None:
    admission = _admission(tmp_path)
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        "x-api-key": raw_key("acme-user"),
        "x-request-id": "r-1",
        "traceparent": f"00-{trace}-00f067aa0ba902b7-01",
    }
    before = time.monotonic()
    admitted = admission.admit(headers, method="/svc/M", timeout_s=2.0)
    ctx = admitted.context
    assert (ctx.request_id, ctx.trace_id, ctx.method) == ("r-1", trace, "/svc/M")
    assert ctx.deadline is not None and before + 2.0 <= ctx.deadline <= time.monotonic() + 2.0
    admitted.release()
    explicit = admission.admit({**headers, "x-trace-id": "t-9"}, method="/svc/M", timeout_s=None)
    assert explicit.context.trace_id == "t-9" and explicit.context.deadline is None


@pytest.mark.parametrize(("headers", "reason"), [({}, "API_KEY_MISSING"), ({"x-api-key": "nope"}, "API_KEY_INVALID")])
def test_missing_or_unknown_keys_are_unauthenticated(tmp_path: Path, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(UnauthenticatedError) as info:
        _admission(tmp_path).admit(headers, method="/svc/M", timeout_s=None)
    assert info.value.reason == reason


def test_only_a_service_key_acts_for_another_tenant(tmp_path: Path) -> None:
    admission = _admission(tmp_path)
    acting = admission.admit(
        {"x-api-key": raw_key("service"), "x-agentplane-tenant": "acme"}, method="/svc/M", timeout_s=None
    )
    assert acting.context.tenant == "acme"
    with pytest.raises(PermissionDeniedError):
        admission.admit(
            {"x-api-key": raw_key("globex-user"), "x-agentplane-tenant": "acme"}, method="/m", timeout_s=None
        )


def test_tenant_limits_refuse_at_once_and_a_release_frees_the_slot(tmp_path: Path) -> None:
    admission = _admission(tmp_path, limits={"default": {"max_concurrent": 1}})
    headers = {"x-api-key": raw_key("acme-user")}
    first = admission.admit(headers, method="/svc/M", timeout_s=None)
    with pytest.raises(ResourceExhaustedError) as info:
        admission.admit(headers, method="/svc/M", timeout_s=None)
    assert info.value.reason == "CONCURRENCY_LIMITED"
    admission.admit({"x-api-key": raw_key("globex-user")}, method="/svc/M", timeout_s=None).release()
    first.release()
    first.release()  # idempotent: the slot is not given back twice
    admission.admit(headers, method="/svc/M", timeout_s=None)
    with pytest.raises(ResourceExhaustedError):
        admission.admit(headers, method="/svc/M", timeout_s=None)


def test_without_a_limiter_callers_are_only_authenticated(tmp_path: Path) -> None:
    admission = Admission(_admission(tmp_path).keys, limiter=None)
    admitted = [admission.admit({"x-api-key": raw_key("acme-user")}, method="MCP", timeout_s=None) for _ in range(3)]
    assert all(a.permit is None for a in admitted)


def test_presented_key_prefers_the_bearer_token() -> None:
    assert presented_key({"authorization": "Bearer k1", "x-api-key": "k2"}) == "k1"
    assert presented_key(CIMultiDict({"Authorization": "bearer  k1 "})) == "k1"
    assert presented_key({"authorization": "Basic abc", "x-api-key": "k2"}) == "k2"
    assert presented_key({}) is None


def test_error_of_passes_typed_errors_and_hides_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    typed = NotFoundError("no such task")
    assert error_of(typed, None) is typed
    ctx = RequestContext(request_id="req-7", method="/svc/M")
    with caplog.at_level(logging.ERROR, logger="agentplane.admission"):
        hidden = error_of(ZeroDivisionError("secret detail"), ctx)
    assert isinstance(hidden, InternalError) and "req-7" in hidden.message and "secret" not in hidden.message
    assert "ZeroDivisionError" in caplog.text

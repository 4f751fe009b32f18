"""Upstream error classification and Retry-After parsing."""

from __future__ import annotations

import email.utils
import time

import pytest

from gateway.adapters.transport import failure_for_status, parse_retry_after
from gateway.upstream import FailureKind


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": when}) == pytest.approx(30, abs=2)
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (429, FailureKind.RATE_LIMITED, True),
        (500, FailureKind.SERVER_ERROR, True),
        (529, FailureKind.SERVER_ERROR, True),
        (408, FailureKind.TIMEOUT, True),
        (401, FailureKind.MISCONFIGURED, False),
        (404, FailureKind.MISCONFIGURED, False),
        (400, FailureKind.REJECTED, False),
        (422, FailureKind.REJECTED, False),
    ],
)
def test_status_classification(status: int, kind: FailureKind, retryable: bool) -> None:
    failure = failure_for_status(status, b'{"error": {"message": "boom"}}', {"Retry-After": "1"})
    assert failure.kind is kind and failure.kind.retryable is retryable
    assert failure.http_status == status and "boom" in failure.message
    assert failure.kind.unhealthy is (kind is not FailureKind.REJECTED)


def test_error_messages_from_other_shapes() -> None:
    assert "Invalid API key" in failure_for_status(401, b'{"detail": "Invalid API key"}', {}).message
    assert "<html>" in failure_for_status(502, b"<html>bad gateway</html>", {}).message

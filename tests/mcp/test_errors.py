"""The one mapping from agentplane errors to MCP errors, and how the HTTP front reads a key."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from starlette.datastructures import Headers

from agentplane.errors import FieldViolation, InvalidArgumentError, NotFoundError, ResourceExhaustedError
from agentplane.mcp import describe, resource_error, tool_error
from agentplane.mcp.auth import presented_key


def test_describe_names_the_status_and_adds_only_what_the_message_lacks() -> None:
    listed = InvalidArgumentError(
        "1 invalid text(s): texts[0]: text is empty", violations=[FieldViolation("texts[0]", "text is empty")]
    )
    assert describe(listed) == "INVALID_ARGUMENT: 1 invalid text(s): texts[0]: text is empty"
    terse = InvalidArgumentError("bad request", violations=[FieldViolation("url", "must be http(s)")])
    assert describe(terse) == "INVALID_ARGUMENT: bad request (url: must be http(s))"
    limited = ResourceExhaustedError("tenant 'acme' is over its rate limit", retry_after_s=0.25)
    assert describe(limited) == "RESOURCE_EXHAUSTED: tenant 'acme' is over its rate limit; retry after 0.25s"


def test_tool_and_resource_errors() -> None:
    assert isinstance(tool_error(NotFoundError("no task 't1'")), ToolError)
    assert str(tool_error(NotFoundError("no task 't1'"))) == "NOT_FOUND: no task 't1'"
    assert isinstance(resource_error(NotFoundError("gone")), ResourceNotFoundError)
    other = resource_error(InvalidArgumentError("bad"))
    assert isinstance(other, ResourceError) and not isinstance(other, ResourceNotFoundError)


def test_presented_key_prefers_the_bearer_token() -> None:
    assert presented_key(Headers({"authorization": "Bearer k1", "x-api-key": "k2"})) == "k1"
    assert presented_key(Headers({"authorization": "bearer  k1 "})) == "k1"
    assert presented_key(Headers({"x-api-key": "k2"})) == "k2"
    assert presented_key(Headers({"authorization": "Basic abc"})) is None
    assert presented_key(Headers({})) is None

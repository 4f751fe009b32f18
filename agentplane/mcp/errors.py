"""The one mapping from agentplane errors to MCP tool and resource errors.

Layer: shared core, MCP boundary. Tools of every adapter raise `AgentplaneError`s (from
`unary`) and this module turns them into what an MCP client shows: a `ToolError`
(the call returns `isError: true`) or a `ResourceError` (a protocol error), with a
message that starts with the status name and says what to change, e.g.
`INVALID_ARGUMENT: 1 invalid text(s): texts[0]: text is empty or only whitespace`.
"""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from agentplane.errors import AgentplaneError, Code

__all__ = ["describe", "resource_error", "tool_error"]


def describe(exc: AgentplaneError) -> str:
    """A one-line, actionable description: status, message, unlisted field problems, retry hint."""
    text = f"{exc.code.name}: {exc.message}"
    unlisted = [f"{v.field}: {v.description}" for v in exc.violations if v.description not in exc.message]
    if unlisted:
        text += " (" + "; ".join(unlisted) + ")"
    if exc.retry_after_s is not None and exc.retryable:
        text += f"; retry after {exc.retry_after_s:g}s"
    return text


def tool_error(exc: AgentplaneError) -> ToolError:
    """The tool error reporting `exc` to the MCP client."""
    return ToolError(describe(exc))


def resource_error(exc: AgentplaneError) -> ResourceError:
    """The resource error reporting `exc` (NOT_FOUND becomes the protocol's invalid-params error)."""
    if exc.code == Code.NOT_FOUND:
        return ResourceNotFoundError(describe(exc))
    return ResourceError(describe(exc))

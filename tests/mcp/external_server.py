"""A small external MCP server (stdio) for the controller's MCP-client tests.

Self-contained (imports only the MCP SDK, anyio and pydantic) so it runs as a plain
script: `python tests/mcp/external_server.py`. Tools: `word_count` (structured output),
`shout` (text output), `refuse` (always a tool error), `wait_forever` (never answers:
for deadlines) and `calls_seen` (how many other tool calls this process received).
"""

from __future__ import annotations

from typing import Annotated

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field


class WordCount(BaseModel):
    """How many words and characters a text has."""

    words: int
    characters: int


def build() -> MCPServer:
    """The test server."""
    server = MCPServer("external-test", version="1.0.0")
    seen = {"calls": 0}

    @server.tool()
    def word_count(text: Annotated[str, Field(description="Text to count.")]) -> WordCount:
        """Count the words of a text."""
        seen["calls"] += 1
        return WordCount(words=len(text.split()), characters=len(text))

    @server.tool(structured_output=False)
    def shout(text: str) -> str:
        """The text in capitals."""
        seen["calls"] += 1
        return text.upper()

    @server.tool()
    def refuse(reason: str) -> str:
        """Always fails with the given reason."""
        seen["calls"] += 1
        raise ToolError(f"refused: {reason}")

    @server.tool()
    async def wait_forever() -> str:
        """Never answers (until the caller gives up and cancels)."""
        seen["calls"] += 1
        await anyio.Event().wait()
        return "unreachable"

    @server.tool()
    def calls_seen() -> int:
        """How many calls of the other tools this server received."""
        return seen["calls"]

    return server


if __name__ == "__main__":
    build().run()

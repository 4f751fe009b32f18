"""The gateway MCP server over stdio and streamable HTTP, against the real gateway and a fake provider."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.mcp.conftest import Platform, error_text, structured

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _tour(client: Client, prompt: str) -> None:
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(listed) == {"llm_complete", "llm_embed"}
    complete = listed["llm_complete"]
    assert complete.annotations is not None and complete.annotations.idempotent_hint is False
    assert complete.input_schema["required"] == ["prompt"]
    assert complete.output_schema is not None
    assert set(complete.output_schema["properties"]) >= {"text", "usage", "residency"}

    answer = structured(await client.call_tool("llm_complete", {"prompt": prompt, "temperature": 0.0}))
    assert answer["text"] == f"Echo: {prompt}"
    assert answer["model"] == "general" and answer["deployment"] == "fake-general" and answer["residency"] == "on_prem"
    assert answer["finish_reason"] == "stop" and answer["usage"]["output_tokens"] > 0

    embedded = structured(await client.call_tool("llm_embed", {"inputs": ["a cat", "a dog"]}))
    assert embedded["dimensions"] == 8 and len(embedded["embeddings"]) == 2
    assert embedded["embeddings"][0] != embedded["embeddings"][1]


async def test_stdio_lists_and_calls_every_tool(platform: Platform) -> None:
    async with platform.stdio_client("gateway") as client:
        await _tour(client, "hello over stdio")


async def test_http_lists_and_calls_every_tool(platform: Platform) -> None:
    async with platform.http_client("gateway") as client:
        await _tour(client, "hello over http")


async def test_bad_arguments_are_tool_errors_with_the_reason(platform: Platform) -> None:
    async with platform.http_client("gateway") as client:
        unknown = error_text(await client.call_tool("llm_complete", {"prompt": "hi", "model": "no-such-alias"}))
        assert "NOT_FOUND" in unknown and "no-such-alias" in unknown
        assert "prompt" in error_text(await client.call_tool("llm_complete", {"prompt": ""}))
        assert "temperature" in error_text(await client.call_tool("llm_complete", {"prompt": "hi", "temperature": 9}))
        not_embedding = error_text(await client.call_tool("llm_embed", {"inputs": ["x"], "model": "general"}))
        assert not_embedding.startswith("Error executing tool llm_embed: ")

"""The domain-inference MCP server over stdio and streamable HTTP, against the real service (in-process path)."""

from __future__ import annotations

import math

import pytest
from mcp import Client, MCPError

from tests.mcp.conftest import Platform, error_text, resource_text, structured

pytestmark = pytest.mark.asyncio(loop_scope="package")

SPORT = "The striker scored twice as the home side won the cup final in front of a record crowd."


async def _tour(client: Client) -> None:
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(listed) == {"classify_text", "embed_text"}
    assert all(t.annotations is not None and t.annotations.read_only_hint for t in listed.values())

    classified = structured(await client.call_tool("classify_text", {"texts": [SPORT]}))
    (result,) = classified["results"]
    assert result["label"] == "sport" and result["model"] == "news-topic"
    assert result["probabilities"][0]["label"] == "sport"
    assert classified["path"] in {"triton", "in_process"}

    embedded = structured(await client.call_tool("embed_text", {"texts": [SPORT, "Shares fell."]}))
    assert len(embedded["embeddings"]) == 2 and embedded["dimensions"] == len(embedded["embeddings"][0])
    assert math.isclose(math.fsum(v * v for v in embedded["embeddings"][0]), 1.0, rel_tol=1e-3)

    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert "models://{name}/card" in templates
    card = resource_text(await client.read_resource("models://news-topic/card"))
    assert "news-topic" in card


async def test_stdio_lists_and_calls_every_tool(platform: Platform) -> None:
    async with platform.stdio_client("domain_inference") as client:
        await _tour(client)


async def test_http_lists_and_calls_every_tool(platform: Platform) -> None:
    async with platform.http_client("domain_inference") as client:
        await _tour(client)


async def test_bad_arguments_are_tool_errors_with_the_reason(platform: Platform) -> None:
    async with platform.http_client("domain_inference") as client:
        blank = error_text(await client.call_tool("classify_text", {"texts": ["  "]}))
        assert "INVALID_ARGUMENT" in blank and "texts[0]" in blank
        assert "texts" in error_text(await client.call_tool("classify_text", {"texts": []}))
        unknown = error_text(await client.call_tool("embed_text", {"texts": ["x"], "model": "nope"}))
        assert "NOT_FOUND" in unknown
        with pytest.raises(MCPError, match="no model named 'nope'"):
            await client.read_resource("models://nope/card")

"""The realtime MCP server over stdio and streamable HTTP, against the real realtime service."""

from __future__ import annotations

import json

import pytest
from mcp import Client, MCPError

from tests.mcp.conftest import Platform, error_text, resource_text, structured

pytestmark = pytest.mark.asyncio(loop_scope="package")

TOOLS = {"fetch_page", "extract", "watch_source"}


async def _tour(client: Client, p: Platform, source_id: str) -> None:
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(listed) == TOOLS
    assert listed["fetch_page"].annotations is not None and listed["fetch_page"].annotations.read_only_hint
    assert listed["fetch_page"].output_schema is not None
    assert "max_length" in listed["fetch_page"].input_schema["properties"]

    url = p.site.url("/page/product.html")
    first = structured(await client.call_tool("fetch_page", {"url": url, "max_length": 100}))
    assert first["status_code"] == 200 and first["title"].startswith("Acme Anvil 3000")
    assert len(first["markdown"]) == 100 and first["next_index"] == 100 and first["truncated"]
    rest = structured(await client.call_tool("fetch_page", {"url": url, "start_index": first["next_index"]}))
    assert rest["start_index"] == 100 and rest["next_index"] == 0
    assert (
        first["markdown"] + rest["markdown"]
        == structured(await client.call_tool("fetch_page", {"url": url}))["markdown"]
    )

    fields = [{"name": "name", "selector": "h1", "required": True}, {"name": "missing", "selector": ".nope"}]
    extracted = structured(await client.call_tool("extract", {"url": url, "fields": fields}))
    assert extracted["data"]["name"] == "Acme Anvil 3000"
    assert {f["name"]: f["found"] for f in extracted["fields"]} == {"name": True, "missing": False}

    html = "<html><body><p class='x'>42</p></body></html>"
    from_html = structured(
        await client.call_tool(
            "extract", {"html": html, "fields": [{"name": "n", "selector": ".x", "type": "integer"}]}
        )
    )
    assert from_html["data"] == {"n": 42}

    source = structured(
        await client.call_tool("watch_source", {"url": p.site.url("/page/policy.html"), "source_id": source_id})
    )
    assert source["source_id"] == source_id and source["snapshot_uri"] == f"snapshot://{source_id}"
    snapshot = json.loads(resource_text(await client.read_resource(f"snapshot://{source_id}")))
    assert snapshot["source_id"] == source_id and snapshot["title"] == "Returns policy"


async def test_stdio_lists_and_calls_every_tool(platform: Platform) -> None:
    async with platform.stdio_client("realtime") as client:
        await _tour(client, platform, "policy-stdio")


async def test_http_lists_and_calls_every_tool(platform: Platform) -> None:
    async with platform.http_client("realtime") as client:
        await _tour(client, platform, "policy-http")


async def test_bad_arguments_are_tool_errors_with_the_reason(platform: Platform) -> None:
    async with platform.http_client("realtime") as client:
        text = error_text(await client.call_tool("fetch_page", {"url": "ftp://example.test/x"}))
        assert "INVALID_ARGUMENT" in text and "http" in text
        assert "max_length" in error_text(
            await client.call_tool("fetch_page", {"url": "http://x.test", "max_length": -1})
        )
        both = {"url": "http://x.test", "html": "<p/>", "fields": [{"name": "a", "selector": "p"}]}
        assert "exactly one of url or html" in error_text(await client.call_tool("extract", both))
        blocked = error_text(await client.call_tool("fetch_page", {"url": "http://10.0.0.1/"}))
        assert blocked.startswith("Error executing tool fetch_page: PERMISSION_DENIED")


async def test_snapshots_are_tenant_scoped(platform: Platform) -> None:
    async with platform.http_client("realtime", "acme-user") as acme:
        structured(
            await acme.call_tool("watch_source", {"url": platform.site.url("/page/listing.html"), "source_id": "mine"})
        )
    async with platform.http_client("realtime", "globex-user") as globex:
        with pytest.raises(MCPError, match="NOT_FOUND"):
            await globex.read_resource("snapshot://mine")


async def test_a_page_of_100000_nested_divs_ends_quickly_with_the_limit_named(platform: Platform) -> None:
    async with platform.http_client("realtime") as client:
        text = error_text(await client.call_tool("fetch_page", {"url": platform.site.url("/nested/100000")}))
    assert "RESOURCE_EXHAUSTED" in text and "content.max_nesting_depth" in text


async def test_a_schema_nested_past_any_limit_is_a_tool_error(platform: Platform) -> None:
    spec: dict[str, object] = {"name": "leaf", "selector": "p"}
    for level in range(40):
        spec = {"name": f"f{level}", "selector": "div", "fields": [spec]}
    async with platform.http_client("realtime") as client:
        text = error_text(await client.call_tool("extract", {"html": "<p>x</p>", "fields": [spec]}))
    assert "INVALID_ARGUMENT" in text and "32 levels" in text

"""The OpenAI-compatible HTTP front: the official openai SDK unchanged, plus raw HTTP edge cases."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import aiohttp
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from agentplane.rpc import unary
from tests.gateway.conftest import Harness, user
from tests.support.fake_llm import Fault
from tests.support.keys import raw_key


def msgs(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_sdk_chat_completion(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    resp = await sdk.chat.completions.create(model="general", messages=msgs("hello sdk"), temperature=0)
    assert resp.choices[0].message.content == "Echo: hello sdk"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "general" and resp.usage is not None and resp.usage.completion_tokens == 3
    extra = resp.model_extra or {}
    assert extra["agentplane"]["deployment"] == "onprem-a" and extra["agentplane"]["cache_hit"] is False
    again = await sdk.chat.completions.create(model="general", messages=msgs("hello sdk"), temperature=0)
    assert (again.model_extra or {})["agentplane"]["cache_hit"] is True


async def test_sdk_streaming_with_usage(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="general",
        messages=msgs("one two three"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: one two three"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


async def test_sdk_logprobs(sdk: openai.AsyncOpenAI) -> None:
    resp = await sdk.chat.completions.create(
        model="general", messages=msgs("x"), logprobs=True, top_logprobs=2, temperature=0
    )
    logprobs = resp.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert [t.token for t in logprobs.content] == ["Echo:", " x"]
    assert len(logprobs.content[0].top_logprobs) == 2


async def test_sdk_tool_calls(sdk: openai.AsyncOpenAI) -> None:
    tools: list[ChatCompletionToolParam] = [
        {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    ]
    resp = await sdk.chat.completions.create(
        model="general", messages=msgs("find it"), tools=tools, tool_choice="required"
    )
    calls = resp.choices[0].message.tool_calls or []
    call = calls[0]
    assert call.type == "function"
    assert call.function.name == "lookup" and json.loads(call.function.arguments) == {"echo": "find it"}
    assert resp.choices[0].finish_reason == "tool_calls"


async def test_sdk_models_and_embeddings(sdk: openai.AsyncOpenAI) -> None:
    models = [m.id async for m in sdk.models.list()]
    assert {"general", "mixed", "claude", "embed"} <= set(models)
    emb = await sdk.embeddings.create(model="embed", input=["a cat", "a dog"])  # the SDK asks for base64
    assert [len(d.embedding) for d in emb.data] == [8, 8]
    floats = await sdk.embeddings.create(model="embed", input="a cat", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(emb.data[0].embedding, abs=1e-6)


async def test_sdk_errors_map_to_its_exception_types(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    messages = msgs("x")
    bad = openai.AsyncOpenAI(base_url=f"{gw.http_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad.chat.completions.create(model="general", messages=messages)
    await bad.close()
    with pytest.raises(openai.NotFoundError) as not_found:
        await sdk.chat.completions.create(model="nope", messages=messages)
    assert "general" in not_found.value.message
    with pytest.raises(openai.BadRequestError):
        await sdk.chat.completions.create(model="general", messages=[])
    with pytest.raises(openai.APIStatusError) as precondition:
        await sdk.chat.completions.create(
            model="cloud-only",
            messages=messages,
            extra_body={"agentplane": {"sensitivity": "confidential"}},
        )
    assert precondition.value.status_code == 412
    assert gw.cloud.count() == 0


async def test_sdk_budget_refusal_is_not_retried(gateway_factory) -> None:
    async with gateway_factory(budgets={"tenants": {"acme": {"daily_usd": 0.0001}}}) as gw:
        client = openai.AsyncOpenAI(base_url=f"{gw.http_url}/v1", api_key=raw_key("acme-user"), max_retries=2)
        messages = msgs("spend")
        await client.chat.completions.create(model="cloud-only", messages=messages)
        with pytest.raises(openai.RateLimitError) as err:
            await client.chat.completions.create(model="cloud-only", messages=messages)
        assert err.value.response.headers["x-should-retry"] == "false"
        assert int(err.value.response.headers["Retry-After"]) > 0
        assert (err.value.body or {})["code"] == "budget_exceeded"  # type: ignore[index]
        await client.close()
        assert gw.cloud.count() == 1


async def test_sdk_sees_a_mid_stream_failure_as_an_error(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    gw.onprem.script(Fault.truncate(after_chunks=2))
    stream = await sdk.chat.completions.create(model="general", messages=msgs("one two three"), stream=True)
    received = []
    with pytest.raises(openai.APIError) as err:
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content if chunk.choices else "")
    assert "incomplete" in err.value.message
    assert received and all(c is not None for c in received)


async def test_sdk_streams_fail_over_before_the_first_token(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    gw.onprem.script(Fault.error(500))
    stream = await sdk.chat.completions.create(model="general", messages=msgs("ok"), stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "Echo: ok"


async def test_sensitivity_and_pii_by_header(gw: Harness, http: aiohttp.ClientSession) -> None:
    body = {"model": "mixed", "messages": [{"role": "user", "content": "mail jane@example.com"}], "temperature": 0}
    headers = {**gw.headers(), "x-agentplane-sensitivity": "restricted"}
    async with http.post(f"{gw.http_url}/v1/chat/completions", json=body, headers=headers) as resp:
        doc = await resp.json()
        assert resp.status == 200 and doc["agentplane"]["deployment"] == "onprem-b"
    headers = {**gw.headers(), "x-agentplane-redact-pii": "true", "x-agentplane-cache": "bypass"}
    body["model"] = "cloud-only"
    async with http.post(f"{gw.http_url}/v1/chat/completions", json=body, headers=headers) as resp:
        doc = await resp.json()
        assert doc["choices"][0]["message"]["content"] == "Echo: mail jane@example.com"
        assert doc["agentplane"]["pii_redacted"] is True
    assert "jane@example.com" not in gw.cloud.received_text()


async def test_raw_http_errors(gw: Harness, http: aiohttp.ClientSession) -> None:
    url = f"{gw.http_url}/v1/chat/completions"
    async with http.post(url, data=b"{not json", headers=gw.headers()) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_json"
    async with http.post(url, json={"model": "general", "messages": []}) as resp:
        assert resp.status == 401 and (await resp.json())["error"]["type"] == "authentication_error"
    async with http.post(url, data=io.BytesIO(b"x" * (5 * 1024 * 1024)), headers=gw.headers()) as resp:
        assert resp.status == 413
    body = {"model": "general", "messages": [{"role": "robot", "content": "x"}]}
    async with http.post(url, json=body, headers={"x-api-key": raw_key("acme-user")}) as resp:
        doc = await resp.json()
        assert resp.status == 400 and doc["error"]["param"] == "messages[0].role"
    async with http.get(f"{gw.http_url}/healthz") as resp:
        assert resp.status == 200
    async with http.get(f"{gw.http_url}/v1/nothing", headers=gw.headers()) as resp:
        assert resp.status == 404 and "/v1/chat/completions" in (await resp.json())["error"]["message"]
    async with http.get(f"{gw.http_url}/v1/models") as resp:
        assert resp.status == 401


async def test_open_breaker_answers_503_with_retry_after(gw: Harness, http: aiohttp.ClientSession) -> None:
    gw.onprem.fail_always(Fault.error(500))
    url = f"{gw.http_url}/v1/chat/completions"
    body = {"model": "general", "messages": [{"role": "user", "content": "x"}]}
    async with http.post(url, json=body, headers=gw.headers()) as resp:
        assert resp.status == 502 and (await resp.json())["error"]["code"] == "upstream_unavailable"
    async with http.post(url, json={**body, "stream": True}, headers=gw.headers()) as resp:
        assert resp.status == 503, "a stream that cannot start is a plain error response"
        assert resp.headers["x-should-retry"] == "true" and 1 <= int(resp.headers["Retry-After"]) <= 30
        assert (await resp.json())["error"]["code"] == "circuit_open"
    assert gw.onprem.count() == 3


async def test_http_and_grpc_share_tenant_limits(gateway_factory) -> None:
    async with gateway_factory(limits={"tenants": {"acme": {"max_concurrent": 1}}}) as gw:
        gw.onprem.script(Fault.hang())
        busy = asyncio.ensure_future(unary(gw.stub().Complete, user("slow")))
        await gw.onprem.wait_for_requests(1)
        async with aiohttp.ClientSession() as http:
            body = {"model": "general", "messages": [{"role": "user", "content": "x"}]}
            async with http.post(f"{gw.http_url}/v1/chat/completions", json=body, headers=gw.headers()) as resp:
                assert resp.status == 429
                assert (await resp.json())["error"]["code"] == "concurrency_limited"
            async with http.post(
                f"{gw.http_url}/v1/chat/completions", json=body, headers=gw.headers("globex-user")
            ) as resp:
                assert resp.status == 200, "other tenants are not affected"
        gw.onprem.release()
        assert (await busy).message.content == "Echo: slow"

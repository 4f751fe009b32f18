"""Every error status of the HTTP front, as the official openai SDK sees it: exception class and error type."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.gateway.conftest import Harness
from tests.support.fake_llm import Fault
from tests.support.keys import raw_key

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
LOOKUP: list[ChatCompletionToolParam] = [
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
]


async def _refusal(call: object) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as err:
        await call  # type: ignore[misc]
    return err.value


def _type(err: openai.APIStatusError) -> str:
    return str((err.body or {})["type"])  # type: ignore[index]


async def test_400_bad_request(sdk: openai.AsyncOpenAI) -> None:
    err = await _refusal(sdk.chat.completions.create(model="general", messages=[]))
    assert isinstance(err, openai.BadRequestError) and _type(err) == "invalid_request_error"


async def test_400_tools_for_a_model_that_cannot_call_them_are_refused_not_dropped(
    gw: Harness, sdk: openai.AsyncOpenAI
) -> None:
    err = await _refusal(sdk.chat.completions.create(model="plain", messages=HELLO, tools=LOOKUP))
    assert isinstance(err, openai.BadRequestError) and _type(err) == "invalid_request_error"
    assert (err.body or {})["param"] == "tools"  # type: ignore[index]
    assert "cannot call tools" in err.message and "plain-a" in err.message and "general" in err.message
    assert gw.onprem.count() == 0, "refused before any upstream call"
    plain = await sdk.chat.completions.create(model="plain", messages=HELLO)
    assert plain.choices[0].message.content == "Echo: hello"


async def test_401_unauthenticated(gw: Harness) -> None:
    bad = openai.AsyncOpenAI(base_url=f"{gw.http_url}/v1", api_key="wrong", max_retries=0)
    err = await _refusal(bad.chat.completions.create(model="general", messages=HELLO))
    await bad.close()
    assert isinstance(err, openai.AuthenticationError) and _type(err) == "authentication_error"


async def test_403_permission_denied(sdk: openai.AsyncOpenAI) -> None:
    call = sdk.chat.completions.create(model="general", messages=HELLO, extra_headers={"x-agentplane-tenant": "globex"})
    err = await _refusal(call)
    assert isinstance(err, openai.PermissionDeniedError) and _type(err) == "permission_error"


async def test_404_unknown_model(sdk: openai.AsyncOpenAI) -> None:
    err = await _refusal(sdk.chat.completions.create(model="nope", messages=HELLO))
    assert isinstance(err, openai.NotFoundError) and _type(err) == "not_found_error"


async def test_412_sensitive_request_without_on_prem(sdk: openai.AsyncOpenAI) -> None:
    call = sdk.chat.completions.create(
        model="cloud-only", messages=HELLO, extra_body={"agentplane": {"sensitivity": "restricted"}}
    )
    err = await _refusal(call)
    assert err.status_code == 412 and _type(err) == "invalid_request_error"


async def test_413_body_too_large_is_an_invalid_request(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    big: list[ChatCompletionMessageParam] = [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]
    err = await _refusal(sdk.chat.completions.create(model="general", messages=big))
    assert err.status_code == 413 and _type(err) == "invalid_request_error"
    assert (err.body or {})["code"] == "request_too_large"  # type: ignore[index]
    assert "http.max_body_bytes" in err.message
    assert err.response.headers["x-should-retry"] == "false"


async def test_429_budget_is_insufficient_quota(gateway_factory) -> None:
    async with gateway_factory(budgets={"tenants": {"acme": {"daily_tokens": 1}}}) as gw:
        client = openai.AsyncOpenAI(base_url=f"{gw.http_url}/v1", api_key=raw_key("acme-user"), max_retries=0)
        await client.chat.completions.create(model="general", messages=HELLO)
        err = await _refusal(client.chat.completions.create(model="general", messages=HELLO))
        await client.close()
    assert isinstance(err, openai.RateLimitError) and _type(err) == "insufficient_quota"


async def test_429_rate_limit(gateway_factory) -> None:
    async with gateway_factory(limits={"tenants": {"acme": {"rate_per_s": 0.001, "burst": 1}}}) as gw:
        client = openai.AsyncOpenAI(base_url=f"{gw.http_url}/v1", api_key=raw_key("acme-user"), max_retries=0)
        await client.chat.completions.create(model="general", messages=HELLO)
        err = await _refusal(client.chat.completions.create(model="general", messages=HELLO))
        await client.close()
    assert isinstance(err, openai.RateLimitError) and _type(err) == "rate_limit_error"


async def test_502_upstream_failed(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    gw.onprem.fail_always(Fault.error(500))
    err = await _refusal(sdk.chat.completions.create(model="general", messages=HELLO))
    assert isinstance(err, openai.InternalServerError) and err.status_code == 502 and _type(err) == "server_error"


async def test_503_circuit_open(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    gw.onprem.fail_always(Fault.error(500))
    await _refusal(sdk.chat.completions.create(model="general", messages=HELLO))
    err = await _refusal(sdk.chat.completions.create(model="general", messages=HELLO))
    assert isinstance(err, openai.InternalServerError) and err.status_code == 503
    assert _type(err) == "service_unavailable_error"


async def test_504_deadline(gw: Harness, sdk: openai.AsyncOpenAI) -> None:
    gw.onprem.fail_always(Fault.hang())
    call = sdk.chat.completions.create(model="general", messages=HELLO, extra_headers={"x-request-timeout": "0.2"})
    err = await _refusal(call)
    gw.onprem.fail_always(None)
    gw.onprem.release()
    assert isinstance(err, openai.InternalServerError) and err.status_code == 504 and _type(err) == "timeout_error"

"""The LLMGateway gRPC service end to end: real gateway, real fake providers on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from agentplane.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from agentplane.rpc import stream, unary
from agentplane.v1 import common_pb2, gateway_pb2
from tests.gateway.conftest import SYSTEM, Harness, user
from tests.support.fake_llm import ANTHROPIC_MESSAGES, EMBEDDINGS, OPENAI_CHAT


async def test_complete_answers_through_the_openai_adapter(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user("hello world", temperature=0.0))
    assert resp.message.content == "Echo: hello world"
    assert resp.message.role == gateway_pb2.ROLE_ASSISTANT
    assert resp.finish_reason == gateway_pb2.FINISH_REASON_STOP
    assert (resp.model, resp.deployment, resp.provider, resp.residency) == ("general", "onprem-a", "openai", "on_prem")
    assert resp.usage.output_tokens == 3 and resp.usage.input_tokens > 0 and resp.usage.upstream_calls == 1
    assert [(a.deployment, a.outcome) for a in resp.attempts] == [("onprem-a", "ok")]
    assert resp.attempts[0].reason == "only deployment of the alias"
    sent = gw.onprem.requests[-1].body
    assert sent["model"] == "onprem-a-model" and sent["temperature"] == 0.0
    assert sent["messages"][0] == {"role": "system", "content": SYSTEM}, "the alias's system prompt is always sent"


async def test_own_system_message_is_kept(gw: Harness) -> None:
    req = user("hi", temperature=0.0)
    req.messages.insert(0, gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_SYSTEM, content="Be terse."))
    await unary(gw.stub().Complete, req)
    messages = gw.onprem.requests[-1].body["messages"]
    assert [m["content"] for m in messages if m["role"] == "system"] == ["Be terse."]


async def test_logprobs_pass_through(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user("a b", temperature=0.0, logprobs=True, top_logprobs=2))
    assert [lp.token for lp in resp.logprobs] == ["Echo:", " a", " b"]
    assert resp.logprobs[1].logprob == pytest.approx(-0.15)
    assert [t.token for t in resp.logprobs[0].top_logprobs] == ["Echo:", "alt1"]
    sent = gw.onprem.requests[-1].body
    assert sent["logprobs"] is True and sent["top_logprobs"] == 2


async def test_max_tokens_is_capped_by_tenant_policy(gateway_factory) -> None:
    async with gateway_factory(budgets={"tenants": {"acme": {"max_tokens_per_request": 2}}}) as gw:
        resp = await unary(gw.stub().Complete, user("one two three", max_tokens=50))
        assert gw.onprem.requests[-1].body["max_tokens"] == 2
        assert resp.finish_reason == gateway_pb2.FINISH_REASON_LENGTH
        assert resp.message.content == "Echo: one"


async def test_stream_complete_first_chunk_names_the_deployment_last_carries_usage(gw: Harness) -> None:
    chunks = [c async for c in stream(gw.stub().StreamComplete, user("one two three"))]
    assert "".join(c.delta for c in chunks) == "Echo: one two three"
    assert chunks[0].deployment == "onprem-a" and chunks[0].model == "general" and chunks[0].residency == "on_prem"
    assert all(c.finish_reason == gateway_pb2.FINISH_REASON_UNSPECIFIED for c in chunks[:-1])
    last = chunks[-1]
    assert last.finish_reason == gateway_pb2.FINISH_REASON_STOP
    assert last.usage.output_tokens == 4 and last.usage.upstream_calls == 1
    assert [a.outcome for a in last.attempts] == ["ok"]
    assert gw.onprem.requests[-1].body["stream_options"] == {"include_usage": True}


async def test_anthropic_deployment_complete_and_stream(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user("bonjour", model="claude", max_tokens=10))
    assert resp.message.content == "Echo: bonjour"
    assert resp.provider == "anthropic" and resp.residency == "cloud"
    assert len(resp.logprobs) == 0, "the Messages API has no logprobs"
    assert resp.usage.cost_usd == pytest.approx((resp.usage.input_tokens * 3 + resp.usage.output_tokens * 15) / 1000)
    sent = gw.cloud.requests[-1]
    assert sent.path == ANTHROPIC_MESSAGES and sent.headers["x-api-key"] == "sk-ant-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body["max_tokens"] == 10 and sent.body["messages"][0]["role"] == "user"
    chunks = [c async for c in stream(gw.stub().StreamComplete, user("au revoir", model="claude"))]
    assert "".join(c.delta for c in chunks) == "Echo: au revoir"
    assert chunks[-1].usage.output_tokens == 3


async def test_tool_calls_round_trip(gw: Harness) -> None:
    req = user("weather in Paris", temperature=0.0, tool_choice="lookup")
    req.tools.add(name="lookup", description="look it up", parameters_json_schema=json.dumps({"type": "object"}))
    resp = await unary(gw.stub().Complete, req)
    assert resp.finish_reason == gateway_pb2.FINISH_REASON_TOOL_CALLS
    assert [(c.name, json.loads(c.arguments_json)) for c in resp.message.tool_calls] == [
        ("lookup", {"echo": "weather in Paris"})
    ]
    sent = gw.onprem.requests[-1].body
    assert sent["tools"][0]["function"]["name"] == "lookup"
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}


async def test_embed(gw: Harness) -> None:
    resp = await unary(gw.stub().Embed, gateway_pb2.LLMEmbedRequest(model="embed", inputs=["a cat", "a dog"]))
    assert (resp.model, resp.deployment) == ("embed", "embed-a")
    assert [len(e.values) for e in resp.embeddings] == [8, 8]
    assert resp.embeddings[0].values != resp.embeddings[1].values
    assert gw.onprem.count(path=EMBEDDINGS) == 1
    with pytest.raises(InvalidArgumentError) as err:
        await unary(gw.stub().Embed, gateway_pb2.LLMEmbedRequest(model="general", inputs=["x"]))
    assert err.value.reason == "NOT_AN_EMBEDDING_MODEL"


async def test_list_models_reports_catalogue_and_breakers(gw: Harness) -> None:
    resp = await unary(gw.stub().ListModels, gateway_pb2.ListLLMModelsRequest())
    by_alias = {m.alias: m for m in resp.models}
    assert by_alias["primary"].fallbacks == ["backup"]
    assert by_alias["claude"].supports_logprobs is False and by_alias["general"].supports_logprobs is True
    assert by_alias["embed"].supports_embeddings is True
    cloud = by_alias["mixed"].deployments[0]
    assert (cloud.name, cloud.residency, cloud.breaker_state) == ("cloud-a", "cloud", "closed")
    assert cloud.input_price_per_1k == pytest.approx(1.0)


async def test_bad_requests_get_clear_errors_and_reach_no_provider(gw: Harness) -> None:
    with pytest.raises(NotFoundError) as err:
        await unary(gw.stub().Complete, user("x", model="nope"))
    assert "general" in err.value.message and err.value.reason == "MODEL_NOT_FOUND"
    with pytest.raises(InvalidArgumentError) as bad:
        await unary(gw.stub().Complete, gateway_pb2.CompleteRequest(model="general"))
    assert bad.value.violations[0].field == "messages"
    bad_role = gateway_pb2.CompleteRequest(model="general", messages=[gateway_pb2.ChatMessage(content="x")])
    with pytest.raises(InvalidArgumentError) as bad:
        await unary(gw.stub().Complete, bad_role)
    assert bad.value.violations[0].field == "messages[0].role"
    with pytest.raises(InvalidArgumentError):
        await unary(gw.stub().Complete, user("x", top_logprobs=99))
    with pytest.raises(UnauthenticatedError):
        await unary(gw.stub(key=None).Complete, user("x"))
    assert gw.onprem.count() == 0 and gw.cloud.count() == 0


async def test_sensitive_request_without_on_prem_deployment_fails_precondition(gw: Harness) -> None:
    req = user("secret", model="cloud-only", sensitivity=common_pb2.SENSITIVITY_CONFIDENTIAL)
    with pytest.raises(FailedPreconditionError) as err:
        await unary(gw.stub().Complete, req)
    assert err.value.reason == "NO_ON_PREM_DEPLOYMENT"
    assert gw.cloud.count() == 0


async def test_sensitive_requests_never_reach_the_cloud(gw: Harness) -> None:
    for _ in range(6):
        req = user(
            "confidential plan",
            model="mixed",
            temperature=0.0,
            sensitivity=common_pb2.SENSITIVITY_RESTRICTED,
            cache=gateway_pb2.CachePolicy(mode=gateway_pb2.CachePolicy.MODE_BYPASS),
        )
        resp = await unary(gw.stub().Complete, req)
        assert resp.deployment == "onprem-b" and resp.residency == "on_prem"
        skipped = [a for a in resp.attempts if a.outcome == "skipped_sensitivity"]
        assert [a.deployment for a in skipped] == ["cloud-a"]
    chunks = [c async for c in stream(gw.stub().StreamComplete, user("x", model="mixed", sensitivity=4))]
    assert chunks[0].deployment == "onprem-b"
    assert gw.cloud.count() == 0
    assert "confidential plan" not in gw.cloud.received_text()


async def test_get_usage_counts_tokens_and_cost(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user("one two", model="cloud-only", temperature=0.0))
    await unary(gw.stub().Complete, user("one two", model="cloud-only", temperature=0.0))  # a cache hit
    usage = await unary(gw.stub().GetUsage, gateway_pb2.GetUsageRequest())
    assert usage.tenant == "acme"
    assert usage.daily.requests == 2 and usage.daily.cache_hits == 1
    assert usage.daily.input_tokens == resp.usage.input_tokens
    assert usage.monthly.cost_usd == pytest.approx(resp.usage.cost_usd)
    assert [(m.model, m.deployment, m.requests) for m in usage.by_model] == [("cloud-only", "cloud-only-a", 2)]
    assert usage.max_tokens_per_request == 4096
    other = await unary(gw.stub("globex-user").GetUsage, gateway_pb2.GetUsageRequest())
    assert other.tenant == "globex" and other.daily.requests == 0


async def test_only_admins_read_other_tenants_usage(gw: Harness) -> None:
    with pytest.raises(PermissionDeniedError):
        await unary(gw.stub("acme-user").GetUsage, gateway_pb2.GetUsageRequest(tenant="globex"))
    resp = await unary(gw.stub("admin").GetUsage, gateway_pb2.GetUsageRequest(tenant="globex"))
    assert resp.tenant == "globex"


async def test_service_key_acts_for_a_tenant(gw: Harness) -> None:
    from tests.support.keys import raw_key

    ch = gw.stub("service")
    md = (("x-agentplane-tenant", "globex"),)
    await ch.Complete(user("x", temperature=0.0), metadata=md)
    usage = await unary(gw.stub("globex-user").GetUsage, gateway_pb2.GetUsageRequest())
    assert usage.daily.requests == 1
    assert raw_key("service")
    assert gw.onprem.count(path=OPENAI_CHAT) == 1


async def test_azure_openai_deployment(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user("hi azure", model="azure"))
    assert resp.message.content == "Echo: hi azure" and resp.provider == "azure_openai"
    sent = gw.cloud.requests[-1]
    assert sent.model == "gpt4o-prod" and sent.headers["api-key"] == "az-key"
    assert "Authorization" not in sent.headers

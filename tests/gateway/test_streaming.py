"""Streams over gRPC: failover before the first token, an error status (never silence) after it."""

from __future__ import annotations

import pytest

from agentplane.errors import UnavailableError
from agentplane.rpc import stream, unary
from agentplane.v1 import gateway_pb2
from tests.gateway.conftest import Harness, user
from tests.support.fake_llm import ANTHROPIC_MESSAGES, Fault


async def collect(
    gw: Harness, req: gateway_pb2.CompleteRequest
) -> tuple[list[gateway_pb2.CompleteChunk], Exception | None]:
    chunks: list[gateway_pb2.CompleteChunk] = []
    try:
        async for chunk in stream(gw.stub().StreamComplete, req):
            chunks.append(chunk)
    except Exception as exc:
        return chunks, exc
    return chunks, None


@pytest.mark.parametrize(
    "fault", [Fault.error(500), Fault.error(429, retry_after=0.01), Fault.drop(), Fault.truncate(0)]
)
async def test_failure_before_the_first_token_fails_over(gw: Harness, fault: Fault) -> None:
    gw.onprem.script(fault)
    chunks, error = await collect(gw, user("one two"))
    assert error is None
    assert "".join(c.delta for c in chunks) == "Echo: one two"
    assert [a.outcome for a in chunks[-1].attempts] == ["error", "ok"]
    assert chunks[-1].usage.upstream_calls == 2


async def test_failure_before_the_first_token_falls_back_to_the_next_alias(gw: Harness) -> None:
    gw.cloud.fail_always(Fault.error(502))
    chunks, error = await collect(gw, user("one", model="primary"))
    assert error is None
    assert chunks[0].model == "backup" and chunks[0].deployment == "backup-a"
    assert "".join(c.delta for c in chunks) == "Echo: one"


@pytest.mark.parametrize("fault", [Fault.drop(after_chunks=2), Fault.truncate(after_chunks=2)])
async def test_failure_after_tokens_ends_the_stream_with_an_error(gw: Harness, fault: Fault) -> None:
    gw.onprem.script(fault)
    chunks, error = await collect(gw, user("one two three four"))
    sent = "".join(c.delta for c in chunks)
    assert chunks and "Echo: one two three four".startswith(sent) and len(sent) < len("Echo: one two three four")
    assert all(c.finish_reason == gateway_pb2.FINISH_REASON_UNSPECIFIED for c in chunks), "no chunk claims completion"
    assert isinstance(error, UnavailableError)
    assert error.reason == "STREAM_INTERRUPTED"
    assert "incomplete" in error.message
    assert gw.onprem.count() == 1, "tokens were sent: no silent restart on another deployment"
    usage = await unary(gw.stub().GetUsage, gateway_pb2.GetUsageRequest())
    assert usage.daily.requests == 1, "a broken stream is still accounted"
    assert usage.daily.output_tokens == len(chunks) and usage.daily.input_tokens > 0


async def test_anthropic_stream_dropped_mid_way_is_an_error(gw: Harness) -> None:
    gw.cloud.script(Fault.drop(after_chunks=1, path=ANTHROPIC_MESSAGES))
    chunks, error = await collect(gw, user("one two three", model="claude"))
    assert [c.delta for c in chunks] == ["Echo:"]
    assert isinstance(error, UnavailableError) and error.reason == "STREAM_INTERRUPTED"


async def test_anthropic_stream_without_message_stop_is_an_error(gw: Harness) -> None:
    gw.cloud.script(Fault.truncate(after_chunks=2, path=ANTHROPIC_MESSAGES))
    chunks, error = await collect(gw, user("one two three", model="claude"))
    assert len(chunks) == 2
    assert isinstance(error, UnavailableError)


async def test_mid_stream_failures_count_against_the_breaker(gw: Harness) -> None:
    for i in range(3):
        gw.onprem.script(Fault.drop(after_chunks=1))
        _, error = await collect(gw, user(f"one two {i}"))
        assert error is not None
    resp = await unary(gw.stub().ListModels, gateway_pb2.ListLLMModelsRequest())
    general = next(m for m in resp.models if m.alias == "general")
    assert general.deployments[0].breaker_state == "open"


async def test_stream_logprobs_and_no_usage_from_upstream(gateway_factory) -> None:
    async with gateway_factory() as gw:
        gw.onprem.stream_usage = False  # like llama.cpp: usage is never in the stream
        chunks, error = await collect(gw, user("a b c", logprobs=True, top_logprobs=1))
        assert error is None
        tokens = [lp.token for c in chunks for lp in c.logprobs]
        assert tokens == ["Echo:", " a", " b", " c"]
        assert chunks[-1].usage.output_tokens == 4, "estimated from the chunks when upstream reports no usage"
        assert chunks[-1].usage.input_tokens > 0

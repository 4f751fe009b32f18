"""PII redaction: never reaches a cloud deployment, restored in the answer (streams included)."""

from __future__ import annotations

from agentplane.rpc import stream, unary
from agentplane.v1 import gateway_pb2
from gateway.config import PiiSettings
from gateway.models import ChatRequest, Message
from gateway.pii import Redactor
from tests.gateway.conftest import Harness, user

EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
SECRET = f"Mail {EMAIL} or call {PHONE}; card {CARD}; IBAN {IBAN}."
BYPASS = gateway_pb2.CachePolicy(mode=gateway_pb2.CachePolicy.MODE_BYPASS)


def redact(text: str):
    redactor = Redactor(PiiSettings())
    return redactor.redact(ChatRequest(model="m", messages=[Message("user", text)]))


def test_redacts_each_kind_and_restores_it() -> None:
    r = redact(SECRET)
    sent = r.request.messages[0].content
    for value in (EMAIL, PHONE, CARD, IBAN):
        assert value not in sent
    assert sent == "Mail [EMAIL_1] or call [PHONE_1]; card [CARD_1]; IBAN [IBAN_1]."
    assert r.restore(sent) == SECRET


def test_same_value_same_placeholder_and_checksums_matter() -> None:
    r = redact(f"{EMAIL} and again {EMAIL}; not a card 4111 1111 1111 1112; not an IBAN DE00 3704 0044 0532 0130 00")
    sent = r.request.messages[0].content
    assert sent.count("[EMAIL_1]") == 2
    assert "4111 1111 1111 1112" in sent, "fails the Luhn check"
    assert "DE00 3704 0044 0532 0130 00" in sent, "fails the mod-97 check"


def test_dates_amounts_and_small_numbers_are_left_alone() -> None:
    text = "On 2026-11-25 we paid 1500000 EUR for 12 items, order 12345."
    assert redact(text).request.messages[0].content == text


def test_stream_restorer_handles_placeholders_split_across_chunks() -> None:
    r = redact(f"write to {EMAIL}")
    restorer = r.stream_restorer()
    pieces = ["Sure: [EM", "AIL_", "1]", " done [", "b]", " [EMAIL_9]"]
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == f"Sure: {EMAIL} done [b] [EMAIL_9]"


async def test_pii_never_reaches_the_cloud_and_is_restored(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user(SECRET, model="cloud-only", redact_pii=True, cache=BYPASS))
    assert resp.message.content == f"Echo: {SECRET}"
    assert resp.pii_redacted and resp.residency == "cloud"
    received = gw.cloud.received_text()
    for value in (EMAIL, PHONE, CARD, IBAN):
        assert value not in received
    assert "[EMAIL_1]" in received


async def test_pii_restored_in_streams(gw: Harness) -> None:
    chunks = [c async for c in stream(gw.stub().StreamComplete, user(SECRET, model="cloud-only", redact_pii=True))]
    assert chunks[0].pii_redacted
    assert "".join(c.delta for c in chunks) == f"Echo: {SECRET}"
    assert EMAIL not in gw.cloud.received_text()


async def test_pii_redaction_through_anthropic(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user(SECRET, model="claude", redact_pii=True))
    assert resp.message.content == f"Echo: {SECRET}"
    assert CARD not in gw.cloud.received_text()


async def test_on_prem_deployments_get_the_original_text(gw: Harness) -> None:
    resp = await unary(gw.stub().Complete, user(SECRET, model="general", redact_pii=True))
    assert resp.message.content == f"Echo: {SECRET}" and not resp.pii_redacted
    assert EMAIL in gw.onprem.received_text()


async def test_always_for_cloud_redacts_without_being_asked(gateway_factory) -> None:
    async with gateway_factory(pii={"always_for_cloud": True}) as gw:
        resp = await unary(gw.stub().Complete, user(SECRET, model="cloud-only"))
        assert resp.pii_redacted and resp.message.content == f"Echo: {SECRET}"
        assert EMAIL not in gw.cloud.received_text()

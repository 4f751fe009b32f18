"""PII redaction: what is caught, what is left alone, and exact restoration."""

from __future__ import annotations

import pytest

from agentplane.pii import redact, restore


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane.doe+bank@example.co.uk today", "EMAIL"),
        ("call +44 20 7946 0958", "PHONE"),
        ("call 555-123-4567", "PHONE"),
        ("card 4111 1111 1111 1111 expires", "CARD"),
        ("card 5500-0000-0000-0004", "CARD"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN"),
        ("IBAN GB82WEST12345698765432", "IBAN"),
    ],
)
def test_each_kind_is_redacted_and_restored(text, kind):
    red = redact(text)
    assert red.counts() == {kind: 1}
    assert f"[{kind}_1]" in red.text
    assert restore(red.text, red.mapping) == text


@pytest.mark.parametrize(
    "text",
    [
        "order 12345678 shipped on 2024-01-15",
        "card 1234 5678 9012 3456 (fails Luhn)",
        "IBAN DE00 3704 0044 0532 0130 00 (bad checksum)",
        "version 1.2.3 released",
    ],
)
def test_lookalikes_are_left_alone(text):
    assert not redact(text).found


def test_same_value_gets_the_same_placeholder_across_messages():
    first = redact("mail a@b.io")
    second = redact("again a@b.io and c@d.io", first.mapping)
    assert second.text == "again [EMAIL_1] and [EMAIL_2]"

"""Request limits: no texts, too many, empty or blank, too long; every bad text is named."""

from __future__ import annotations

import pytest

from agentplane.errors import InvalidArgumentError
from domain_inference.config import RequestLimitSettings
from domain_inference.validation import validate_texts

LIMITS = RequestLimitSettings(max_texts=4, max_chars_per_text=20)


def test_valid_texts_pass() -> None:
    validate_texts(["a", "b c", "x" * 20], LIMITS)


def test_no_texts() -> None:
    with pytest.raises(InvalidArgumentError, match="texts is empty") as info:
        validate_texts([], LIMITS)
    assert info.value.reason == "NO_TEXTS"


def test_too_many_texts() -> None:
    with pytest.raises(InvalidArgumentError, match="too many texts: 5 > 4") as info:
        validate_texts(["a"] * 5, LIMITS)
    assert info.value.violations[0].field == "texts"


def test_every_empty_blank_or_long_text_is_named() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        validate_texts(["ok", "", "   \n\t", "x" * 21], LIMITS)
    fields = [v.field for v in info.value.violations]
    assert fields == ["texts[1]", "texts[2]", "texts[3]"]
    assert "empty" in info.value.violations[0].description
    assert "21 characters > 20" in info.value.violations[2].description
    assert info.value.reason == "INVALID_TEXT"

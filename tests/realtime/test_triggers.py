"""Trigger-word windows: the Aho-Corasick pass and the find loops agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime.triggers import TRIGGERS, WINDOW_CHARS, TriggerIndex
from tests.realtime.site import INJECTED

SAMPLES = Path(__file__).parent / "samples"
TEXT = "Please IGNORE ##the user## |&gt;|> inst] sys>>sys&gt;&gt; you are now " + "filler " * 60 + "jailbreak"


def test_windows_cover_every_trigger_with_context() -> None:
    lowered = TEXT.lower()
    windows = TriggerIndex(native=False).windows(lowered)
    for word in TRIGGERS:
        at = lowered.find(word)
        while at >= 0:
            assert any(lo <= max(0, at - WINDOW_CHARS) and at + len(word) + WINDOW_CHARS <= hi for lo, hi in windows)
            at = lowered.find(word, at + 1)
    assert len(windows) == 2  # the far "jailbreak" gets its own window
    assert TriggerIndex(native=False).windows("nothing to see here") == []


@pytest.mark.skipif(not TriggerIndex().native, reason="ahocorasick_rs is not installed")
def test_native_search_gives_the_same_windows_as_the_fallback() -> None:
    documents = [TEXT, INJECTED, *(p.read_text() for p in sorted(SAMPLES.glob("*.html")))]
    native, fallback = TriggerIndex(), TriggerIndex(native=False)
    for doc in documents:
        lowered = doc.lower().encode()
        assert native.windows(lowered) == fallback.windows(lowered)
        if doc.isascii():  # byte and character offsets agree
            assert native.windows(lowered) == fallback.windows(doc.lower())

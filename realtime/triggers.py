"""The injection scanner's trigger words, and where they occur in a page.

Layer: domain. Every alternative of the scanner's patterns contains one of these
words (lower case), so the patterns only run in windows around them; finding the
words is the part of the scan that touches the whole page. With `ahocorasick_rs`
installed one pass (Aho-Corasick, in Rust) finds every word; without it one
`find` loop per word finds the same occurrences, several times slower on a
large page. Both give identical windows.
"""

from __future__ import annotations

try:
    import ahocorasick_rs as _native
except ImportError:  # optional accelerator: the find loops below are the fallback
    _native = None  # type: ignore[assignment]

__all__ = ["TRIGGERS", "WINDOW_CHARS", "TriggerIndex"]

TRIGGERS = (
    "ignore", "disregard", "forget", "override", "you are now", "instruction", "system prompt", "the user",
    "must now", "should now", "developer mode", "dan mode", "jailbreak", "|>", "|&gt;", "inst]", "sys>>",
    "sys&gt;&gt;", "##",
)  # fmt: skip
WINDOW_CHARS = 120
"""Context kept on each side of a trigger word."""


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if not spans:
        return []
    spans.sort()
    merged = [spans[0]]
    for lo, hi in spans[1:]:
        if lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


class TriggerIndex:
    """Finds the trigger words in lowered text or bytes.

    Args:
        words: Lower-case trigger words.
        native: Use `ahocorasick_rs` for bytes when it is installed.
    """

    def __init__(self, words: tuple[str, ...] = TRIGGERS, *, native: bool = True) -> None:
        self._words = words
        self._bytes_words = tuple(w.encode() for w in words)
        self._automaton = _native.BytesAhoCorasick(self._bytes_words) if native and _native is not None else None

    @property
    def native(self) -> bool:
        """Whether bytes are searched in one Aho-Corasick pass."""
        return self._automaton is not None

    def windows(self, lowered: bytes | str) -> list[tuple[int, int]]:
        """Merged spans of `WINDOW_CHARS` around every occurrence of a trigger word (overlaps included)."""
        if isinstance(lowered, bytes):
            if self._automaton is not None:
                found = self._automaton.find_matches_as_indexes(lowered, overlapping=True)
                return _merge([(max(0, start - WINDOW_CHARS), end + WINDOW_CHARS) for _, start, end in found])
            return _merge(_find_all(lowered, self._bytes_words))
        return _merge(_find_all(lowered, self._words))


def _find_all(lowered: bytes | str, words: tuple[bytes, ...] | tuple[str, ...]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for word in words:
        at = lowered.find(word)  # type: ignore[arg-type]
        while at >= 0:
            spans.append((max(0, at - WINDOW_CHARS), at + len(word) + WINDOW_CHARS))
            at = lowered.find(word, at + 1)  # type: ignore[arg-type]
    return spans

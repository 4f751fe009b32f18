"""Signs of prompt injection in scraped pages: hidden text and instructions aimed at a model.

Layer: domain (selectolax). Scraped content is untrusted. This module finds
elements a reader cannot see (the `hidden` attribute, aria-hidden, inline or
<style>-sheet display:none / visibility:hidden / zero opacity / tiny or zero font /
off-screen positioning / zero-size clipping) and text that talks to a model
("ignore previous instructions", "you are now", "system prompt", chat-template
role markers such as <|im_start|> or [INST], "### Instruction"). Hidden elements
are reported and excluded from the text and markdown given to the model; the
score combines findings as independent evidence, 1 - prod(1 - w).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import AnyStr

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

__all__ = ["Finding", "InjectionReport", "InjectionScanner", "scan_source", "scan_text"]

_EXCERPT = 160
_HIDING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$|!)"
    r"|font-size\s*:\s*(?:0(?:\.\d+)?|1)(?:px|pt|em|rem|%)?\s*(?:;|$|!)"
    r"|(?:left|top|text-indent|margin-left)\s*:\s*-\d{4,}"
    r"|clip\s*:\s*rect\(\s*0[^)]*\)|clip-path\s*:\s*inset\(\s*50%"
    r"|(?:width|height)\s*:\s*0(?:px)?\s*;[^\"']*overflow\s*:\s*hidden"
    r"|color\s*:\s*transparent",
    re.IGNORECASE,
)
_STYLE_RULE = re.compile(r"([^{}]{1,200})\{([^{}]{0,2000})\}")
_SIMPLE_SELECTOR = re.compile(r"^[.#]?[A-Za-z_][\w-]*$")
_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*(?:previous|prior|above|earlier|preceding"
    r"|system|original)\s+(?:instructions?|prompts?|messages?|directions?|rules|context)"
    r"|\byou\s+are\s+now\s+(?:a|an|in|the|my|DAN)\b"
    r"|\b(?:reveal|print|show|output|repeat)\s+(?:your|the)\s+(?:system\s+prompt|hidden\s+instructions|instructions)"
    r"|\bsystem\s+prompt\b"
    r"|\bnew\s+instructions?\s*:"
    r"|\b(?:do\s+not|don't|never)\s+(?:tell|inform|mention\s+(?:this\s+)?to)\s+the\s+user"
    r"|\b(?:as\s+an?\s+)?(?:AI|LLM|language\s+model|assistant|chatbot)s?\s*(?:,\s*)?(?:you\s+)?(?:must|should)\s+now\b"
    r"|\b(?:developer|DAN|jailbreak)\s+mode\b",
    re.IGNORECASE,
)
_ROLE_MARKERS = re.compile(
    r"(?:<|&lt;)\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|eot_id)\|(?:>|&gt;)"
    r"|\[/?INST\]|<</?SYS>>|^\s*#{2,4}\s*(?:Instruction|System|Response)s?\s*:?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
# Every alternative of the two patterns contains one of these (lower case); each costs one
# str.find/bytes.find over the page, so the list is kept short and the words rare.
_TRIGGERS = (
    "ignore", "disregard", "forget", "override", "you are now", "instruction", "system prompt", "the user",
    "must now", "should now", "developer mode", "dan mode", "jailbreak", "|>", "|&gt;", "inst]", "sys>>",
    "sys&gt;&gt;", "##",
)  # fmt: skip
_TRIGGERS_BYTES = tuple(t.encode() for t in _TRIGGERS)
_WINDOW = 120
_TAG = re.compile(r"<[^<>]{0,1000}>")
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_WEIGHTS = {"role_marker": 0.7, "instruction_to_model": 0.5, "hidden_instruction": 0.85}
_HIDDEN_LONG_W, _HIDDEN_SHORT_W, _HIDDEN_CAP = 0.1, 0.02, 0.3


@dataclass(frozen=True)
class Finding:
    """One sign of injection."""

    kind: str
    excerpt: str
    detail: str


@dataclass(frozen=True)
class InjectionReport:
    """All signs found in a page, and their combined score in [0, 1]."""

    flagged: bool
    score: float
    findings: tuple[Finding, ...]

    @staticmethod
    def clean() -> InjectionReport:
        """A report with nothing found."""
        return InjectionReport(False, 0.0, ())


def _excerpt(text: str, start: int = 0, end: int | None = None) -> str:
    end = len(text) if end is None else end
    lo = max(0, start - 40)
    snippet = " ".join(text[lo : min(len(text), max(end, start + 1) + 40)].split())
    return snippet[:_EXCERPT]


def _windows(lowered: AnyStr, triggers: tuple[AnyStr, ...]) -> list[tuple[int, int]]:
    """Merged spans around every trigger word: the regexes only run there."""
    spans: list[tuple[int, int]] = []
    for word in triggers:
        at = lowered.find(word)
        while at >= 0:
            spans.append((max(0, at - _WINDOW), at + len(word) + _WINDOW))
            at = lowered.find(word, at + 1)
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


def scan_text(text: str, *, where: str = "", seen: set[str] | None = None) -> list[Finding]:
    """Instruction-like phrases and role markers in `text`.

    The regexes run only in windows around trigger words found with `str.find`,
    which keeps long pages cheap (every alternative of the patterns contains a trigger).

    Args:
        text: Text to scan.
        where: "" for visible page text, else where hidden text came from
            ("hidden text", "an HTML comment"): instructions there weigh more.
        seen: Phrases already reported; updated, and matches in it are skipped.
    """
    spans = _windows(text.lower(), _TRIGGERS)
    if not spans:
        return []
    seen = set() if seen is None else seen
    findings: list[Finding] = []
    kind = "hidden_instruction" if where else "instruction_to_model"
    for lo, hi in spans:
        window = text[lo:hi]
        for match in _ROLE_MARKERS.finditer(window):
            marker = match.group(0).strip()
            if marker.lower() not in seen:
                seen.add(marker.lower())
                excerpt = _excerpt(text, lo + match.start(), lo + match.end())
                findings.append(Finding("role_marker", excerpt, f"chat role marker {marker!r}"))
        for match in _INSTRUCTIONS.finditer(window):
            phrase = " ".join(match.group(0).lower().split())
            if phrase in seen:
                continue
            seen.add(phrase)
            detail = f"instruction aimed at a model in {where or 'page text'}: {match.group(0)!r}"
            findings.append(Finding(kind, _excerpt(text, lo + match.start(), lo + match.end()), detail))
    return findings


def scan_source(body: bytes, encoding: str, *, seen: set[str] | None = None) -> list[Finding]:
    """`scan_text` over an HTML body in an ASCII-compatible encoding, without building its text.

    Trigger words are found in the lowered bytes; only the windows around them are
    decoded, stripped of tags and entities, and scanned.
    """
    seen = set() if seen is None else seen
    findings: list[Finding] = []
    for lo, hi in _windows(body.lower(), _TRIGGERS_BYTES):
        window = body[lo:hi].decode(encoding, errors="replace")
        findings.extend(scan_text(html.unescape(_TAG.sub(" ", window)), seen=seen))
    return findings


def _sheet_selectors(tree: LexborHTMLParser) -> list[str]:
    """Simple class/id/tag selectors that a <style> sheet hides."""
    selectors: list[str] = []
    for style in tree.css("style"):
        sheet = style.text(deep=True)
        if "{" not in sheet:
            continue
        for rule in _STYLE_RULE.finditer(sheet[:100_000]):
            if not _HIDING_STYLE.search(rule.group(2)):
                continue
            for raw in rule.group(1).split(","):
                sel = raw.strip()
                if _SIMPLE_SELECTOR.match(sel) and sel.lower() not in ("html", "body", "head", "script", "style"):
                    selectors.append(sel)
    return selectors[:50]


class InjectionScanner:
    """Finds hidden elements and model-directed instructions in a parsed page.

    Args:
        threshold: Score from which a page is flagged.
        max_findings: Findings kept in the report.
    """

    def __init__(self, threshold: float = 0.5, max_findings: int = 20) -> None:
        self._threshold = threshold
        self._max_findings = max_findings

    def hidden_nodes(self, tree: LexborHTMLParser, source: str | None = None) -> list[LexborNode]:
        """Elements a reader cannot see, outermost only.

        Args:
            tree: The parsed page.
            source: The page source, when known: queries that cannot match are skipped.
        """
        candidates: list[LexborNode] = []
        if source is None or _mentions(source, "hidden", "style="):
            candidates.extend(self._attribute_hidden(tree))
        if source is None or _mentions(source, "<style"):
            for selector in _sheet_selectors(tree):
                try:
                    candidates.extend(tree.css(selector))
                except SelectolaxError:
                    continue
        return self._outermost(candidates)

    @staticmethod
    def _attribute_hidden(tree: LexborHTMLParser) -> list[LexborNode]:
        candidates: list[LexborNode] = []
        for node in tree.css('[hidden], [aria-hidden="true"], [style]'):
            attrs = node.attributes
            if (
                "hidden" in attrs
                or attrs.get("aria-hidden") == "true"
                or _HIDING_STYLE.search(attrs.get("style") or "")
            ):
                candidates.append(node)
        return candidates

    @staticmethod
    def _outermost(nodes: Iterable[LexborNode]) -> list[LexborNode]:
        unique = {n.mem_id: n for n in nodes if n.tag not in ("script", "style", "template", "input", "head")}
        out = []
        for node in unique.values():
            parent = node.parent
            nested = False
            while parent is not None:
                if parent.mem_id in unique:
                    nested = True
                    break
                parent = parent.parent
            if not nested:
                out.append(node)
        return out

    def assess(
        self, source: str, hidden: list[LexborNode], text: str | None, body: tuple[bytes, str] | None = None
    ) -> InjectionReport:
        """Score the page from its hidden elements, its text and its comments.

        Args:
            source: The page source (HTML comments are scanned).
            hidden: Result of `hidden_nodes`.
            text: The page text (with or without the hidden parts: phrases
                already found in hidden elements are not counted twice); None to scan `body`.
            body: The raw body and its ASCII-compatible encoding, scanned when `text` is None.
        """
        findings: list[Finding] = []
        seen: set[str] = set()
        hidden_weight = 0.0
        for node in hidden:
            secret = " ".join(node.text(deep=True, separator=" ").split())
            if not secret:
                continue
            findings.append(
                Finding(
                    "hidden_element", _excerpt(secret), f"<{node.tag}> {_how_hidden(node)}, {len(secret)} characters"
                )
            )
            hidden_weight += _HIDDEN_LONG_W if len(secret) >= 40 else _HIDDEN_SHORT_W
            findings.extend(scan_text(secret, where="hidden text", seen=seen))
        for comment in _comments(source):
            findings.extend(scan_text(comment, where="an HTML comment", seen=seen))
        if text is not None:
            findings.extend(scan_text(text, seen=seen))
        elif body is not None:
            findings.extend(scan_source(body[0], body[1], seen=seen))
        return self.report(findings, min(hidden_weight, _HIDDEN_CAP))

    def report(self, findings: list[Finding], hidden_weight: float = 0.0) -> InjectionReport:
        """Combine findings into a report."""
        keep = 1.0 - hidden_weight
        for finding in findings:
            keep *= 1.0 - _WEIGHTS.get(finding.kind, 0.0)
        score = round(1.0 - keep, 4)
        ordered = sorted(findings, key=lambda f: -_WEIGHTS.get(f.kind, 0.01))
        return InjectionReport(score >= self._threshold, score, tuple(ordered[: self._max_findings]))


def _mentions(source: str, *words: str) -> bool:
    return any(w in source or w.upper() in source for w in words)


def _how_hidden(node: LexborNode) -> str:
    attrs = node.attributes
    if "hidden" in attrs:
        return "hidden attribute"
    if attrs.get("aria-hidden") == "true":
        return "aria-hidden"
    return "hidden by CSS"


def _comments(html: str) -> list[str]:
    if "<!--" not in html:
        return []
    return [m.group(1) for m in _COMMENT.finditer(html)][:200]

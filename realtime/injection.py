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

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from realtime.triggers import TriggerIndex

__all__ = ["Finding", "InjectionReport", "InjectionScanner", "RawBody", "comments_in", "scan_source", "scan_text"]

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
_INDEX = TriggerIndex()
_TAG = re.compile(r"<[^<>]{0,1000}>")
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_COMMENT_BYTES = re.compile(rb"<!--(.*?)-->", re.DOTALL)
_MAX_COMMENTS = 200
# One query (one walk of the tree) finds every element hidden by an attribute and every sheet.
_ATTRIBUTE_QUERY = "[hidden], [aria-hidden], [style]"
_SHEET_QUERY = "style"
_NEVER_HIDDEN = frozenset({"script", "style", "template", "input", "head"})
_WEIGHTS = {"role_marker": 0.7, "instruction_to_model": 0.5, "hidden_instruction": 0.85}
_HIDDEN_LONG_W, _HIDDEN_SHORT_W, _HIDDEN_CAP = 0.1, 0.02, 0.3


@dataclass(frozen=True)
class RawBody:
    """An HTML body in an ASCII-compatible encoding, with its ASCII-lowered bytes (computed once)."""

    body: bytes
    lowered: bytes
    encoding: str


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


def scan_text(text: str, *, where: str = "", seen: set[str] | None = None) -> list[Finding]:
    """Instruction-like phrases and role markers in `text`.

    The regexes run only in windows around trigger words (see realtime.triggers),
    which keeps long pages cheap (every alternative of the patterns contains a trigger).

    Args:
        text: Text to scan.
        where: "" for visible page text, else where hidden text came from
            ("hidden text", "an HTML comment"): instructions there weigh more.
        seen: Phrases already reported; updated, and matches in it are skipped.
    """
    spans = _INDEX.windows(text.lower())
    if not spans:
        return []
    seen = set() if seen is None else seen
    findings: list[Finding] = []
    for lo, hi in spans:
        _match_window(text, lo, hi, where, seen, findings)
    return findings


def _match_window(text: str, lo: int, hi: int, where: str, seen: set[str], findings: list[Finding]) -> None:
    """Run the patterns over text[lo:hi], adding what is not in `seen` to `findings`."""
    window = text[lo:hi]
    for match in _ROLE_MARKERS.finditer(window):
        marker = match.group(0).strip()
        if marker.lower() not in seen:
            seen.add(marker.lower())
            excerpt = _excerpt(text, lo + match.start(), lo + match.end())
            findings.append(Finding("role_marker", excerpt, f"chat role marker {marker!r}"))
    kind = "hidden_instruction" if where else "instruction_to_model"
    for match in _INSTRUCTIONS.finditer(window):
        phrase = " ".join(match.group(0).lower().split())
        if phrase in seen:
            continue
        seen.add(phrase)
        detail = f"instruction aimed at a model in {where or 'page text'}: {match.group(0)!r}"
        findings.append(Finding(kind, _excerpt(text, lo + match.start(), lo + match.end()), detail))


def scan_source(
    body: bytes,
    encoding: str,
    *,
    seen: set[str] | None = None,
    lowered: bytes | None = None,
    markup: bool = True,
) -> list[Finding]:
    """`scan_text` over a body in an ASCII-compatible encoding, without decoding all of it.

    Trigger words are found in the lowered bytes; only the windows around them are
    decoded (stripped of tags and entities when `markup`) and matched.

    Args:
        body: The raw body (HTML when `markup`, else plain text).
        encoding: Its (ASCII-compatible) encoding.
        seen: Phrases already reported (see `scan_text`).
        lowered: `body.lower()`, when the caller has it already.
        markup: Whether the body is HTML.
    """
    seen = set() if seen is None else seen
    findings: list[Finding] = []
    for lo, hi in _INDEX.windows(body.lower() if lowered is None else lowered):
        window = body[lo:hi].decode(encoding, errors="replace")
        if markup:
            window = html.unescape(_TAG.sub(" ", window))
        _match_window(window, 0, len(window), "", seen, findings)
    return findings


def comments_in(document: RawBody | str) -> list[str]:
    """The text of the document's HTML comments (at most 200), from its raw body or its text."""
    if isinstance(document, str):
        if "<!--" not in document:
            return []
        return [m.group(1) for m in _COMMENT.finditer(document)][:_MAX_COMMENTS]
    if b"<!--" not in document.body:
        return []
    found = [m.group(1) for m in _COMMENT_BYTES.finditer(document.body)][:_MAX_COMMENTS]
    return [c.decode(document.encoding, errors="replace") for c in found]


def _sheet_selectors(sheets: list[LexborNode]) -> list[str]:
    """Simple class/id/tag selectors that the <style> sheets hide."""
    selectors: list[str] = []
    for style in sheets:
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

    def hidden_nodes(self, tree: LexborHTMLParser, probe: bytes | str | None = None) -> list[LexborNode]:
        """Elements a reader cannot see, outermost only.

        Args:
            tree: The parsed page.
            probe: The page source (or its lowered bytes), when known: elements that
                cannot be there are not looked for (no "hidden" or "style=": no hiding
                attributes; no "<style": no sheets).
        """
        attributes = probe is None or _mentions(probe, "hidden", "style=")
        sheets_too = probe is None or _mentions(probe, "<style")
        if not (attributes or sheets_too):
            return []
        query = ", ".join(q for q, wanted in ((_ATTRIBUTE_QUERY, attributes), (_SHEET_QUERY, sheets_too)) if wanted)
        candidates: list[LexborNode] = []
        sheets: list[LexborNode] = []
        for node in tree.css(query):
            if node.tag == "style":
                sheets.append(node)
                continue
            attrs = node.attrs
            if "hidden" in attrs or attrs.sget("aria-hidden") == "true":
                candidates.append(node)
                continue
            style = attrs.sget("style")
            if style and _HIDING_STYLE.search(style):
                candidates.append(node)
        selectors = _sheet_selectors(sheets) if sheets else []
        if selectors:
            candidates.extend(_select_any(tree, selectors))
        return self._outermost(candidates)

    @staticmethod
    def _outermost(nodes: Iterable[LexborNode]) -> list[LexborNode]:
        unique = {n.mem_id: n for n in nodes if n.tag not in _NEVER_HIDDEN}
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
        self,
        hidden: list[LexborNode],
        comments: list[str],
        *,
        raw: RawBody | None = None,
        text: str | None = None,
    ) -> InjectionReport:
        """Score the page from its hidden elements, its comments and its visible content.

        Args:
            hidden: Result of `hidden_nodes`.
            comments: Result of `comments_in`.
            raw: The raw body, scanned for instructions when given (tags and entities
                are undone around each trigger word; no text is built).
            text: The page's visible text, scanned when given (as well as `raw`).
                Phrases already found are not counted twice.
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
        if comments and _INDEX.windows("\n".join(comments).lower()):  # one pass; most pages stop here
            for comment in comments:
                findings.extend(scan_text(comment, where="an HTML comment", seen=seen))
        if raw is not None:
            findings.extend(scan_source(raw.body, raw.encoding, seen=seen, lowered=raw.lowered))
        if text:
            # As UTF-8 bytes: lowering and searching bytes is several times faster than str.lower() on text.
            encoded = text.encode("utf-8", errors="replace")
            findings.extend(scan_source(encoded, "utf-8", seen=seen, markup=False))
        return self.report(findings, min(hidden_weight, _HIDDEN_CAP))

    def report(self, findings: list[Finding], hidden_weight: float = 0.0) -> InjectionReport:
        """Combine findings into a report."""
        keep = 1.0 - hidden_weight
        for finding in findings:
            keep *= 1.0 - _WEIGHTS.get(finding.kind, 0.0)
        score = round(1.0 - keep, 4)
        ordered = sorted(findings, key=lambda f: -_WEIGHTS.get(f.kind, 0.01))
        return InjectionReport(score >= self._threshold, score, tuple(ordered[: self._max_findings]))


def _mentions(source: bytes | str, *words: str) -> bool:
    if isinstance(source, bytes):
        return any(w.encode() in source for w in words)  # lowered bytes
    return any(w in source or w.upper() in source for w in words)


def _select_any(tree: LexborHTMLParser, selectors: list[str]) -> list[LexborNode]:
    """Elements matching any of `selectors`: one query, or one per selector when one is not understood."""
    try:
        return list(tree.css(", ".join(selectors)))
    except SelectolaxError:
        pass
    found: list[LexborNode] = []
    for selector in selectors:
        try:
            found.extend(tree.css(selector))
        except SelectolaxError:
            continue
    return found


def _how_hidden(node: LexborNode) -> str:
    attrs = node.attributes
    if "hidden" in attrs:
        return "hidden attribute"
    if attrs.get("aria-hidden") == "true":
        return "aria-hidden"
    return "hidden by CSS"

"""A fetched document as the model sees it: title, text, markdown, links, injection report.

Layer: domain (selectolax). `Page` parses HTML once with Lexbor (the body bytes
themselves when they are UTF-8) and computes each view lazily, once: asking for
the markdown does not build the text, extracting data builds neither, and the
body is decoded to a string only when something needs it. Hidden elements found
by the injection scanner are left out of text, markdown and links but reported.
Non-HTML types (plain text, JSON, XML, CSV) are returned as text. `window`
pages long documents like the reference fetch server (start_index, max_length,
next_index).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from realtime.charset import DecodedText, declared_charset, decode_body
from realtime.extraction import ExtractionResult, Schema, extract
from realtime.injection import InjectionReport, InjectionScanner, RawBody, comments_in, scan_text
from realtime.markdown import LinkResolver, Rendered, render
from realtime.nesting import NestingLimit

__all__ = ["HTML_TYPES", "Link", "Page", "Window", "window"]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ASCII_PROBE = "<!-- <base> ignore -->"
DEFAULT_NESTING = NestingLimit(max_depth=512, min_tags=8192)


@dataclass(frozen=True)
class Link:
    """An absolute http(s) link and its text."""

    url: str
    text: str


@dataclass(frozen=True)
class Window:
    """One window of a long document."""

    content: str
    start_index: int
    next_index: int
    total_length: int

    @property
    def truncated(self) -> bool:
        """More content follows this window."""
        return self.next_index > 0


def window(document: str, start_index: int, max_length: int) -> Window:
    """The window [start_index, start_index + max_length) of `document`; next_index 0 at the end."""
    total = len(document)
    start = min(max(0, start_index), total)
    end = min(total, start + max_length)
    return Window(document[start:end], start, end if end < total else 0, total)


def _ascii_compatible(charset: str) -> bool:
    """Whether ASCII markup reads the same in `charset` (byte-level scans are then sound)."""
    try:
        return _ASCII_PROBE.encode(charset) == _ASCII_PROBE.encode("ascii")
    except (LookupError, UnicodeError):
        return False


class Page:
    """One document with lazily computed views.

    Args:
        body: Body bytes (Content-Encoding already undone).
        media_type: Lower-case media type.
        header_charset: charset parameter of Content-Type, if any.
        base_url: The final URL (relative links resolve against it, or <base href>).
        scanner: Injection scanner.
        nesting: How deeply the HTML may nest (checked before parsing).
    """

    def __init__(
        self,
        body: bytes,
        media_type: str,
        header_charset: str | None,
        base_url: str,
        scanner: InjectionScanner,
        nesting: NestingLimit = DEFAULT_NESTING,
    ) -> None:
        self._body = body
        self.media_type = media_type
        self._header_charset = header_charset
        self._base_url = base_url
        self._scanner = scanner
        self._nesting = nesting

    @classmethod
    def from_html(
        cls, html: str, base_url: str, scanner: InjectionScanner, nesting: NestingLimit = DEFAULT_NESTING
    ) -> Page:
        """A page from HTML already in text form (Extract with inline html)."""
        return cls(html.encode("utf-8", errors="replace"), "text/html", "utf-8", base_url, scanner, nesting)

    @property
    def size_bytes(self) -> int:
        """Length of the body."""
        return len(self._body)

    @property
    def parsed(self) -> bool:
        """Whether the tree (or, for other types, the text) exists already."""
        return "tree" in self.__dict__ if self.is_html else "source" in self.__dict__

    def prepare(self) -> None:
        """Decode and parse now (called on a worker thread: Lexbor parses without the GIL)."""
        _ = self.tree if self.is_html else self.source

    @property
    def is_html(self) -> bool:
        """Whether the document is parsed as HTML."""
        return self.media_type in HTML_TYPES

    @cached_property
    def _declared(self) -> tuple[str, str] | None:
        return declared_charset(self._body, self._header_charset)

    @cached_property
    def source(self) -> DecodedText:
        """The decoded document."""
        return decode_body(self._body, self._header_charset)

    @property
    def charset(self) -> str:
        """The charset the body is read with (decoding only when it has to be detected)."""
        declared = self._declared
        return declared[0] if declared is not None else self.source.charset

    @cached_property
    def tree(self) -> LexborHTMLParser:
        """The Lexbor tree (HTML only).

        Raises:
            ResourceExhaustedError: The document nests deeper than the limit (it is not parsed).
        """
        charset, how = self._declared or (self.source.charset, self.source.source)
        if self._body and charset == "utf-8" and how != "bom":
            self._nesting.check(self._body, self._base_url)
            return LexborHTMLParser(self._body)  # Lexbor reads bytes as UTF-8: nothing is decoded or copied
        source = str(self.source)
        self._nesting.check(self._body if _ascii_compatible(charset) else source.encode("utf-8"), self._base_url)
        return LexborHTMLParser(source)

    @cached_property
    def raw(self) -> RawBody | None:
        """The body and its lowered bytes when its encoding is ASCII-compatible (else None)."""
        charset = self.charset
        if not self._body or not _ascii_compatible(charset):
            return None
        return RawBody(self._body, self._body.lower(), charset)

    @cached_property
    def base_url(self) -> str:
        """Where relative URLs resolve: <base href> when given, else the page URL."""
        raw = self.raw
        mentioned = b"<base" in raw.lowered if raw is not None else ("<base" in self.source or "<BASE" in self.source)
        if self.is_html and mentioned:
            base = self.tree.css_first("base[href]")
            href = base.attributes.get("href") if base is not None else None
            if href:
                return urljoin(self._base_url, href)
        return self._base_url

    @cached_property
    def _resolver(self) -> LinkResolver:
        return LinkResolver(self.base_url)

    @cached_property
    def hidden(self) -> list[LexborNode]:
        """Elements a reader cannot see (HTML only)."""
        if not self.is_html:
            return []
        raw = self.raw
        return self._scanner.hidden_nodes(self.tree, raw.lowered if raw is not None else self.source)

    @cached_property
    def hidden_ids(self) -> frozenset[int]:
        """mem_ids of the hidden elements."""
        return frozenset(n.mem_id for n in self.hidden)

    @cached_property
    def title(self) -> str:
        """<title>, else og:title, else the first <h1>; "" for non-HTML."""
        if not self.is_html:
            return ""
        for selector, attr in (("title", ""), ('meta[property="og:title"]', "content"), ("h1", "")):
            node = self.tree.css_first(selector)
            if node is not None:
                value = node.attributes.get(attr) if attr else node.text(deep=True, separator=" ")
                text = " ".join((value or "").split())
                if text:
                    return text[:500]
        return ""

    def _content_root(self) -> LexborNode | None:
        tree = self.tree
        root = tree.css_first("main, [role=main]")
        if root is None:
            articles = tree.css("article")
            root = articles[0] if len(articles) == 1 else tree.body
        return root

    def _render(self, *, markdown: bool) -> str:
        if not self.is_html:
            return str(self.source)
        root = self._content_root()
        rendered = (
            Rendered("", "") if root is None else render(root, self._resolver, markdown=markdown, skip=self.hidden_ids)
        )
        self.__dict__.setdefault("visible_text", rendered.visible)
        return rendered.content

    @cached_property
    def markdown(self) -> str:
        """Markdown of the content, hidden elements left out."""
        return self._render(markdown=True)

    @cached_property
    def text(self) -> str:
        """Plain text of the content, hidden elements left out."""
        return self._render(markdown=False)

    @cached_property
    def visible_text(self) -> str:
        """What a reader sees of the content, unformatted (a by-product of either rendering)."""
        text = self.text  # a rendering stores its visible text first (see _render)
        found = self.__dict__.get("visible_text")
        return found if isinstance(found, str) else text

    @cached_property
    def injection(self) -> InjectionReport:
        """Signs of prompt injection in everything a model may be shown of the page.

        Hidden elements (from the tree) and comments are scanned, then the raw body
        (when its encoding is ASCII-compatible: only the spans around trigger words
        are decoded, stripped of tags and matched; this covers the title,
        attributes such as alt text, and everything outside the content root) and
        the visible text of the rendering (where entities are decoded and words split
        by tags are whole again). Uses the rendering already made when there is one.
        Phrases are reported once; those found in hidden elements, as hidden.
        """
        if not self.is_html:
            return self._scanner.report(scan_text(str(self.source)))
        raw = self.raw
        comments = comments_in(raw if raw is not None else str(self.source))
        return self._scanner.assess(self.hidden, comments, raw=raw, text=self.visible_text)

    @cached_property
    def body_injection(self) -> InjectionReport:
        """Signs of prompt injection found without rendering the page (Extract, raw Fetch).

        Like `injection`, but the visible content is scanned in the raw body only
        (or, for encodings that are not ASCII-compatible, in the text of <body>).
        """
        if not self.is_html:
            return self._scanner.report(scan_text(str(self.source)))
        raw = self.raw
        if raw is not None:
            return self._scanner.assess(self.hidden, comments_in(raw), raw=raw)
        body = self.tree.body
        text = body.text(deep=True, separator=" ") if body is not None else ""
        return self._scanner.assess(self.hidden, comments_in(str(self.source)), text=text)

    def links(self, limit: int) -> list[Link]:
        """Up to `limit` distinct absolute http(s) links outside hidden elements."""
        if not self.is_html or limit <= 0:
            return []
        hidden = self.hidden_ids
        resolve = self._resolver
        seen: set[str] = set()
        out: list[Link] = []
        for node in self.tree.css("a[href]"):
            if hidden and _inside(node, hidden):
                continue
            url = resolve(node.attrs.sget("href", "")).split("#", 1)[0]
            if url in seen or urlsplit(url).scheme not in ("http", "https"):
                continue
            seen.add(url)
            out.append(Link(url, " ".join(node.text(deep=True, separator=" ").split())[:300]))
            if len(out) >= limit:
                break
        return out

    def extract(self, schema: Schema, max_matches: int) -> ExtractionResult:
        """Apply an extraction schema to the document (HTML only; others yield nothing)."""
        root = self.tree.root if self.is_html else LexborHTMLParser("").root
        assert root is not None
        return extract(root, schema, self.base_url, max_matches)


def _inside(node: LexborNode, ids: frozenset[int]) -> bool:
    current: LexborNode | None = node
    while current is not None:
        if current.mem_id in ids:
            return True
        current = current.parent
    return False

"""A fetched document as the model sees it: title, text, markdown, links, injection report.

Layer: domain (selectolax). `Page` decodes the body (charset), parses HTML once
with Lexbor and computes each view lazily, once. Hidden elements found by the
injection scanner are left out of text, markdown and links but reported.
Non-HTML types (plain text, JSON, XML, CSV) are returned as text. `window`
pages long documents like the reference fetch server (start_index, max_length,
next_index).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from realtime.charset import DecodedText, decode_body
from realtime.extraction import ExtractionResult, Schema, extract
from realtime.injection import InjectionReport, InjectionScanner, scan_text
from realtime.markdown import LinkResolver, Rendered, render

__all__ = ["HTML_TYPES", "Link", "Page", "PageView", "Window", "window"]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_WIDE_CHARSETS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


@dataclass(frozen=True)
class Link:
    """An absolute http(s) link and its text."""

    url: str
    text: str


@dataclass(frozen=True)
class PageView:
    """What a Fetch returns about a page (before paging)."""

    title: str
    text: str
    markdown: str
    injection: InjectionReport


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


class Page:
    """One decoded document with lazily computed views.

    Args:
        body: Body bytes (Content-Encoding already undone).
        media_type: Lower-case media type.
        header_charset: charset parameter of Content-Type, if any.
        base_url: The final URL (relative links resolve against it, or <base href>).
        scanner: Injection scanner.
    """

    def __init__(
        self, body: bytes, media_type: str, header_charset: str | None, base_url: str, scanner: InjectionScanner
    ) -> None:
        self._body = body
        self.media_type = media_type
        self._header_charset = header_charset
        self._base_url = base_url
        self._scanner = scanner

    @classmethod
    def from_html(cls, html: str, base_url: str, scanner: InjectionScanner) -> Page:
        """A page from HTML already in text form (Extract with inline html)."""
        page = cls(b"", "text/html", "utf-8", base_url, scanner)
        page.__dict__["source"] = DecodedText(html, "utf-8", "given")
        return page

    def prepare(self) -> None:
        """Decode and parse now (called on a worker thread: Lexbor parses without the GIL)."""
        _ = self.tree if self.is_html else self.source

    @property
    def is_html(self) -> bool:
        """Whether the document is parsed as HTML."""
        return self.media_type in HTML_TYPES

    @cached_property
    def source(self) -> DecodedText:
        """The decoded document."""
        return decode_body(self._body, self._header_charset)

    @property
    def charset(self) -> str:
        """The charset the body was decoded with."""
        return self.source.charset

    @cached_property
    def tree(self) -> LexborHTMLParser:
        """The Lexbor tree (HTML only)."""
        source = self.source
        if self._body and source.charset == "utf-8" and source.source != "bom":
            return LexborHTMLParser(self._body)  # Lexbor reads bytes as UTF-8: no re-encoding of the text
        return LexborHTMLParser(source)

    @cached_property
    def base_url(self) -> str:
        """Where relative URLs resolve: <base href> when given, else the page URL."""
        if self.is_html and ("<base" in self.source or "<BASE" in self.source):
            base = self.tree.css_first("base[href]")
            href = base.attributes.get("href") if base is not None else None
            if href:
                return urljoin(self._base_url, href)
        return self._base_url

    @cached_property
    def hidden(self) -> list[LexborNode]:
        """Elements a reader cannot see (HTML only)."""
        return self._scanner.hidden_nodes(self.tree, self.source) if self.is_html else []

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

    @cached_property
    def rendered(self) -> Rendered:
        """Markdown and text of the content, hidden elements left out."""
        if not self.is_html:
            return Rendered(str(self.source), str(self.source))
        root = self._content_root()
        if root is None:
            return Rendered("", "")
        return render(root, self.base_url, self.hidden_ids)

    @cached_property
    def injection(self) -> InjectionReport:
        """Signs of prompt injection.

        Scans the rendered text when it was computed (Fetch). Otherwise (Extract) it
        scans the raw body when its encoding is ASCII-compatible, which avoids
        building the text of the whole page, else the text of the body. Phrases
        found in hidden elements are reported once, as hidden.
        """
        if not self.is_html:
            return self._scanner.report(scan_text(str(self.source)))
        source = str(self.source)
        if "rendered" in self.__dict__:
            return self._scanner.assess(source, self.hidden, self.rendered.text)
        if self._body and self.source.charset not in _WIDE_CHARSETS:
            return self._scanner.assess(source, self.hidden, None, (self._body, self.source.charset))
        body = self.tree.body
        text = body.text(deep=True, separator=" ") if body is not None else ""
        return self._scanner.assess(source, self.hidden, text)

    def view(self) -> PageView:
        """Title, text, markdown and injection report."""
        rendered = self.rendered
        return PageView(self.title, rendered.text, rendered.markdown, self.injection)

    def links(self, limit: int) -> list[Link]:
        """Up to `limit` distinct absolute http(s) links outside hidden elements."""
        if not self.is_html or limit <= 0:
            return []
        hidden = self.hidden_ids
        resolve = LinkResolver(self.base_url)
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

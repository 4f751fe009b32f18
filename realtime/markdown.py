"""HTML to markdown and plain text in one walk over a selectolax (Lexbor) tree.

Layer: domain. A small converter written for speed: one pass over the tree
produces both the markdown and the plain text of a content root, skipping
scripts, styles, navigation and every element the injection scanner found
hidden. Supported: headings, paragraphs, line breaks, rules, links (made
absolute), images, emphasis, inline code, preformatted blocks (fenced, with the
language from `language-*`/`highlight-*` classes), nested lists, block quotes
and tables (pipe tables).

Speed notes: nested content is captured by marking positions in two shared
buffers (no objects per element), tags dispatch through a dict, whitespace is
collapsed only where it needs to be, and relative links resolve through a
per-page memo.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborNode

__all__ = ["LinkResolver", "Rendered", "render"]

_BLANKS = re.compile(r"\n{3,}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SKIP = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "head", "iframe", "object", "embed", "canvas",
        "select", "button", "map", "audio", "video", "nav", "title", "meta", "link", "input", "textarea",
    }
)  # fmt: skip
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "form", "fieldset", "figure",
        "figcaption", "address", "details", "summary", "center", "dl", "dt", "dd", "body", "html", "caption",
        "legend", "hgroup", "search", "tbody", "thead", "tfoot",
    }
)  # fmt: skip
_HEADINGS = {"h1": "# ", "h2": "## ", "h3": "### ", "h4": "#### ", "h5": "##### ", "h6": "###### "}
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*", "del": "~~", "s": "~~"}
_LANG = re.compile(r"(?:language|lang|highlight)-([A-Za-z0-9_+-]+)")


@dataclass
class Rendered:
    """Markdown and text of a page's content."""

    markdown: str
    text: str


class LinkResolver:
    """Makes page-relative URLs absolute, faster than `urljoin` for the common forms, memoised.

    Args:
        base_url: The page's URL (or its <base href>).
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._base = base_url
        self._origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
        self._dir = parts.path.rsplit("/", 1)[0] if "/" in parts.path else ""
        self._no_fragment = base_url.split("#", 1)[0]
        self._memo: dict[str, str] = {}

    def __call__(self, href: str) -> str:
        """The absolute form of `href` ("" for javascript:/data: links)."""
        found = self._memo.get(href)
        if found is not None:
            return found
        resolved = self._resolve(href.strip())
        if len(self._memo) < 4096:
            self._memo[href] = resolved
        return resolved

    def _resolve(self, href: str) -> str:
        if not href:
            return self._base
        scheme = _SCHEME.match(href)
        if scheme is not None:
            lowered = scheme.group(0).lower()
            return "" if lowered in ("javascript:", "data:") else lowered + href[len(lowered) :]
        if not self._origin or href.startswith(("//", "?")) or "\\" in href:
            return urljoin(self._base, href)
        if href[0] == "#":
            return self._no_fragment + href if len(href) > 1 else self._no_fragment
        path, sep, rest = href.partition("#")
        path, qsep, query = path.partition("?")
        joined = path if path.startswith("/") else f"{self._dir}/{path}"
        normal = posixpath.normpath(joined) if ("." in joined or "//" in joined) else joined
        if (joined.endswith(("/", "/.", "/..")) or joined in (".", "..")) and not normal.endswith("/"):
            normal += "/"
        if normal.startswith("//"):
            normal = "/" + normal.lstrip("/")
        return f"{self._origin}{normal}{qsep}{query}{sep}{rest}"


def _indent(text: str, width: int) -> str:
    pad = " " * width
    return "\n".join(line if i == 0 or not line else pad + line for i, line in enumerate(text.split("\n")))


def _clean_inline(text: str) -> str:
    if "\n" not in text:
        return text.strip()
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def _collapse(raw: str) -> str:
    words = raw.split()
    if not words:
        return " " if raw else ""
    text = " ".join(words)
    if raw[0].isspace():
        text = " " + text
    if raw[-1].isspace():
        text += " "
    return text


class _Renderer:
    def __init__(self, resolve: LinkResolver, skip: frozenset[int]) -> None:
        self._resolve = resolve
        self._skip = skip
        self.md: list[str] = []
        self.tx: list[str] = []
        self.md_blocks: list[str] = []
        self.tx_blocks: list[str] = []
        self._inline_depth = 0
        self._handlers: dict[str, Callable[[LexborNode, str], None]] = {
            "a": self._link,
            "br": self._br,
            "code": self._code,
            "pre": self._pre,
            "ul": self._list,
            "ol": self._list,
            "li": self._item,
            "blockquote": self._quote,
            "table": self._table,
            "hr": self._rule,
            "img": self._image,
        }
        for tag in _BLOCK:
            self._handlers[tag] = self._block
        for tag in _HEADINGS:
            self._handlers[tag] = self._heading
        for tag in _EMPHASIS:
            self._handlers[tag] = self._emphasis
        for tag in _SKIP:
            self._handlers[tag] = self._ignore

    # -- buffers
    def flush(self) -> None:
        if self.md:
            md = _clean_inline("".join(self.md))
            tx = _clean_inline("".join(self.tx))
            if md:
                self.md_blocks.append(md)
            if tx:
                self.tx_blocks.append(tx)
            self.md.clear()
            self.tx.clear()

    def block(self, md: str, tx: str) -> None:
        self.flush()
        if md:
            self.md_blocks.append(md)
        if tx:
            self.tx_blocks.append(tx)

    def inline(self, node: LexborNode) -> tuple[str, str]:
        """The node's content as one line (blocks inside are run together)."""
        mark_md, mark_tx = len(self.md), len(self.tx)
        self._inline_depth += 1
        self.walk(node)
        self._inline_depth -= 1
        md = _clean_inline("".join(self.md[mark_md:])).replace("\n", " ")
        tx = _clean_inline("".join(self.tx[mark_tx:])).replace("\n", " ")
        del self.md[mark_md:], self.tx[mark_tx:]
        return md, tx

    def blocks(self, node: LexborNode) -> tuple[str, str]:
        """The node's content as blocks joined by blank lines."""
        self.flush()
        mark_md, mark_tx = len(self.md_blocks), len(self.tx_blocks)
        self.walk(node)
        self.flush()
        md = "\n\n".join(self.md_blocks[mark_md:])
        tx = "\n\n".join(self.tx_blocks[mark_tx:])
        del self.md_blocks[mark_md:], self.tx_blocks[mark_tx:]
        return md, tx

    # -- walk
    def walk(self, node: LexborNode) -> None:
        skip, handlers, md, tx = self._skip, self._handlers, self.md, self.tx
        for child in node.iter(include_text=True):
            tag = child.tag or ""
            if tag == "-text":
                text = _collapse(child.text_content or "")
                md.append(text)
                tx.append(text)
            elif tag[:1] == "-" or (skip and child.mem_id in skip):
                continue
            else:
                handler = handlers.get(tag)
                if handler is None:
                    self.walk(child)
                else:
                    handler(child, tag)

    def element(self, node: LexborNode, tag: str) -> None:
        handler = self._handlers.get(tag)
        if handler is None:
            self.walk(node)
        else:
            handler(node, tag)

    # -- handlers
    def _ignore(self, node: LexborNode, tag: str) -> None:
        return None

    def _block(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.md.append(" ")
            self.tx.append(" ")
            self.walk(node)
            return
        self.flush()
        self.walk(node)
        self.flush()

    def _link(self, node: LexborNode, tag: str) -> None:
        md, tx = self.inline(node)
        href = node.attrs.sget("href", "")
        url = self._resolve(href) if href else ""
        self.md.append(f"[{md}]({url})" if url and md else md)
        self.tx.append(tx)

    def _heading(self, node: LexborNode, tag: str) -> None:
        md, tx = self.inline(node)
        if tx:
            if self._inline_depth:
                self.md.append(md)
                self.tx.append(tx)
            else:
                self.block(_HEADINGS[tag] + md, tx)

    def _emphasis(self, node: LexborNode, tag: str) -> None:
        md, tx = self.inline(node)
        mark = _EMPHASIS[tag]
        self.md.append(f"{mark}{md}{mark}" if md else "")
        self.tx.append(tx)

    def _br(self, node: LexborNode, tag: str) -> None:
        self.md.append("\n")
        self.tx.append("\n")

    def _code(self, node: LexborNode, tag: str) -> None:
        md, tx = self.inline(node)
        self.md.append(f"`{md}`" if md else "")
        self.tx.append(tx)

    def _pre(self, node: LexborNode, tag: str) -> None:
        raw = node.text(deep=True).strip("\n")
        if not raw.strip():
            return
        if self._inline_depth:
            self.md.append(raw)
            self.tx.append(raw)
            return
        parent = node.parent
        classes = f"{node.attrs.sget('class', '')} {parent.attrs.sget('class', '') if parent is not None else ''}"
        match = _LANG.search(classes)
        fence = "````" if "```" in raw else "```"
        self.block(f"{fence}{match.group(1) if match else ''}\n{raw}\n{fence}", raw)

    def _list(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        start = node.attrs.sget("start", "1")
        number = int(start) if start.isdigit() else 1
        md_items: list[str] = []
        tx_items: list[str] = []
        for item in node.iter():
            if item.tag != "li" or (self._skip and item.mem_id in self._skip):
                continue
            md, tx = self.blocks(item)
            marker = f"{number}. " if tag == "ol" else "- "
            number += 1
            md_items.append(marker + _indent(md, len(marker)))
            tx_items.append(marker + _indent(tx, len(marker)))
        self.block("\n".join(md_items), "\n".join(tx_items))

    def _item(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        md, tx = self.blocks(node)
        self.block("- " + _indent(md, 2), "- " + _indent(tx, 2))

    def _quote(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        md, tx = self.blocks(node)
        self.block("\n".join("> " + line if line else ">" for line in md.split("\n")), tx)

    def _table(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        self.flush()
        rows: list[tuple[list[str], list[str]]] = []
        for tr in node.css("tr"):
            md_cells, tx_cells = [], []
            for cell in tr.iter():
                if cell.tag in ("td", "th"):
                    md, tx = self.inline(cell)
                    md_cells.append(md.replace("|", "\\|"))
                    tx_cells.append(tx)
            if md_cells:
                rows.append((md_cells, tx_cells))
        if not rows:
            return
        width = max(len(r[0]) for r in rows)
        md_lines = []
        for index, (cells, _) in enumerate(rows):
            padded = cells + [""] * (width - len(cells))
            md_lines.append("| " + " | ".join(padded) + " |")
            if index == 0:
                md_lines.append("|" + " --- |" * width)
        self.block("\n".join(md_lines), "\n".join(" | ".join(tx) for _, tx in rows))

    def _rule(self, node: LexborNode, tag: str) -> None:
        if not self._inline_depth:
            self.block("---", "")

    def _image(self, node: LexborNode, tag: str) -> None:
        src = node.attrs.sget("src", "")
        if src and not src.startswith("data:"):
            alt = " ".join(node.attrs.sget("alt", "").split())
            self.md.append(f"![{alt}]({self._resolve(src)})")
            self.tx.append(alt)

    def result(self) -> Rendered:
        self.flush()
        markdown = _BLANKS.sub("\n\n", "\n\n".join(self.md_blocks)).strip()
        text = _BLANKS.sub("\n\n", "\n\n".join(self.tx_blocks)).strip()
        return Rendered(markdown, text)


def render(root: LexborNode, base_url: str, skip: frozenset[int] = frozenset()) -> Rendered:
    """Markdown and plain text of `root`.

    Args:
        root: The content root (e.g. <main> or <body>).
        base_url: For resolving relative links and images.
        skip: mem_ids of elements to leave out (hidden elements).
    """
    renderer = _Renderer(LinkResolver(base_url), skip)
    renderer.element(root, root.tag or "")
    return renderer.result()

"""HTML to markdown or plain text in one walk over a selectolax (Lexbor) tree.

Layer: domain. A small converter written for speed: one pass over the tree
produces either the markdown or the plain text of a content root, skipping
scripts, styles, navigation and every element the injection scanner found
hidden. Supported: headings, paragraphs, line breaks, rules, links (made
absolute), images, emphasis, inline code, preformatted blocks (fenced, with the
language from `language-*`/`highlight-*` classes), nested lists, block quotes
and tables (pipe tables).

Either walk also collects the visible text in document order (text nodes,
image alt text and preformatted text, blocks separated by blank lines) for the
injection scanner, so a page rendered in one format can be scanned without
rendering the other.

Speed notes: text nodes are appended as they are and whitespace is collapsed
once per block (not once per node); nested content is captured by marking
positions in shared buffers (no objects per element); tags dispatch through a
dict; relative links resolve through a per-page memo. Markdown and text are
separate walks, so a caller that wants one format pays for one.
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
# Stands for <br> in the inline buffer until whitespace is collapsed. The HTML tree
# builder drops or replaces U+0000 in text and attributes, so it never occurs there.
_BR = "\x00"
_SKIP = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "head", "iframe", "object", "embed", "canvas",
        "select", "button", "map", "audio", "video", "nav", "title", "meta", "link", "input", "textarea",
        "-comment", "-doctype",
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


@dataclass(frozen=True)
class Rendered:
    """One rendering of a page's content."""

    content: str
    """The markdown or the plain text."""
    visible: str
    """The visible text in document order, unformatted (for the injection scanner)."""


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
        # Every segment follows a "/" here, so "." and ".." segments show as "/.".
        normal = posixpath.normpath(joined) if ("/." in joined or "//" in joined) else joined
        if (joined.endswith(("/", "/.", "/..")) or joined in (".", "..")) and not normal.endswith("/"):
            normal += "/"
        if normal.startswith("//"):
            normal = "/" + normal.lstrip("/")
        return f"{self._origin}{normal}{qsep}{query}{sep}{rest}"


def _indent(text: str, width: int) -> str:
    if "\n" not in text:
        return text
    pad = " " * width
    return "\n".join(line if i == 0 or not line else pad + line for i, line in enumerate(text.split("\n")))


def _squash(raw: str) -> str:
    """Whitespace runs collapsed to one space, <br> markers turned into line breaks, stripped."""
    if _BR not in raw:
        return " ".join(raw.split())
    return "\n".join(" ".join(part.split()) for part in raw.split(_BR)).strip()


class _Renderer:
    """One walk producing markdown (`markdown=True`) or plain text."""

    def __init__(self, resolve: LinkResolver, skip: frozenset[int], markdown: bool) -> None:
        self._resolve = resolve
        self._skip = skip
        self._md = markdown
        self._buf: list[str] = []
        """Inline content of the block being built."""
        self._visible: list[str] = []
        """Every visible piece of text in document order (never rewound)."""
        self._blocks: list[str] = []
        self._inline_depth = 0
        self._handlers: dict[str | None, Callable[[LexborNode, str], None]] = {
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
            None: self._ignore,
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
    def _flush(self) -> None:
        self._visible.append("\n\n")
        if self._buf:
            text = _squash("".join(self._buf))
            self._buf.clear()
            if text:
                self._blocks.append(text)

    def _add_block(self, text: str) -> None:
        self._flush()
        if text:
            self._blocks.append(text)

    def _inline(self, node: LexborNode) -> str:
        """The node's content as one line (blocks and line breaks inside are run together)."""
        # The common case, without a walk: one text node, maybe wrapped in plain elements (<span>).
        child, handlers, skip = node.first_child, self._handlers, self._skip
        while child is not None and child.next is None:
            tag = child.tag
            if tag == "-text":
                text = child.text_content or ""
                self._visible.append(text)
                return " ".join(text.split())
            if tag in handlers or (skip and child.mem_id in skip):
                break
            child = child.first_child
        buf = self._buf
        mark = len(buf)
        self._inline_depth += 1
        self.walk(node)
        self._inline_depth -= 1
        text = " ".join("".join(buf[mark:]).replace(_BR, " ").split())
        del buf[mark:]
        return text

    def _capture_blocks(self, node: LexborNode) -> str:
        """The node's content as blocks joined by blank lines."""
        self._flush()
        mark = len(self._blocks)
        self.walk(node)
        self._flush()
        text = "\n\n".join(self._blocks[mark:])
        del self._blocks[mark:]
        return text

    # -- walk
    def walk(self, node: LexborNode) -> None:
        """Render the children of `node`."""
        skip, handlers, append, visible = self._skip, self._handlers, self._buf.append, self._visible.append
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                text = child.text_content or ""
                append(text)
                visible(text)
                continue
            if skip and child.mem_id in skip:
                continue
            handler = handlers.get(tag)
            if handler is None:
                self.walk(child)
            else:
                handler(child, tag or "")

    def element(self, node: LexborNode) -> None:
        """Render `node` itself (the content root)."""
        handler = self._handlers.get(node.tag)
        if handler is None:
            self.walk(node)
        else:
            handler(node, node.tag or "")

    # -- handlers
    def _ignore(self, node: LexborNode, tag: str) -> None:
        return None

    def _block(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self._buf.append(" ")
            self._visible.append(" ")
            self.walk(node)
            return
        self._flush()
        self.walk(node)
        self._flush()

    def _link(self, node: LexborNode, tag: str) -> None:
        text = self._inline(node)
        if self._md and text:
            href = node.attrs.sget("href", "")
            url = self._resolve(href) if href else ""
            if url:
                text = f"[{text}]({url})"
        self._buf.append(text)

    def _heading(self, node: LexborNode, tag: str) -> None:
        text = self._inline(node)
        if not text:
            return
        if self._inline_depth:
            self._buf.append(text)
        else:
            self._add_block(_HEADINGS[tag] + text if self._md else text)

    def _emphasis(self, node: LexborNode, tag: str) -> None:
        text = self._inline(node)
        if self._md and text:
            mark = _EMPHASIS[tag]
            text = f"{mark}{text}{mark}"
        self._buf.append(text)

    def _br(self, node: LexborNode, tag: str) -> None:
        self._buf.append(_BR)
        self._visible.append("\n")

    def _code(self, node: LexborNode, tag: str) -> None:
        text = self._inline(node)
        self._buf.append(f"`{text}`" if self._md and text else text)

    def _pre(self, node: LexborNode, tag: str) -> None:
        raw = node.text(deep=True).strip("\n")
        if not raw.strip():
            return
        self._visible.append(f"\n\n{raw}\n\n")
        if self._inline_depth:
            self._buf.append(raw)
            return
        if not self._md:
            self._add_block(raw)
            return
        parent = node.parent
        classes = f"{node.attrs.sget('class', '')} {parent.attrs.sget('class', '') if parent is not None else ''}"
        match = _LANG.search(classes)
        fence = "````" if "```" in raw else "```"
        self._add_block(f"{fence}{match.group(1) if match else ''}\n{raw}\n{fence}")

    def _list(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        start = node.attrs.sget("start", "1")
        number = int(start) if start.isdigit() else 1
        items: list[str] = []
        skip = self._skip
        for item in node.iter():
            if item.tag != "li" or (skip and item.mem_id in skip):
                continue
            marker = f"{number}. " if tag == "ol" else "- "
            number += 1
            items.append(marker + _indent(self._capture_blocks(item), len(marker)))
        self._add_block("\n".join(items))

    def _item(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        self._add_block("- " + _indent(self._capture_blocks(node), 2))

    def _quote(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        text = self._capture_blocks(node)
        if self._md:
            text = "\n".join("> " + line if line else ">" for line in text.split("\n"))
        self._add_block(text)

    def _table(self, node: LexborNode, tag: str) -> None:
        if self._inline_depth:
            self.walk(node)
            return
        self._flush()
        rows: list[list[str]] = []
        for tr in node.css("tr"):
            cells = [self._cell(cell) for cell in tr.iter() if cell.tag in ("td", "th")]
            if cells:
                rows.append(cells)
        if not rows:
            return
        if not self._md:
            self._add_block("\n".join(" | ".join(cells) for cells in rows))
            return
        width = max(len(cells) for cells in rows)
        lines = []
        for index, cells in enumerate(rows):
            padded = [c.replace("|", "\\|") for c in cells] + [""] * (width - len(cells))
            lines.append("| " + " | ".join(padded) + " |")
            if index == 0:
                lines.append("|" + " --- |" * width)
        self._add_block("\n".join(lines))

    def _cell(self, node: LexborNode) -> str:
        text = self._inline(node)
        self._visible.append(" \n")
        return text

    def _rule(self, node: LexborNode, tag: str) -> None:
        if not self._inline_depth:
            self._add_block("---" if self._md else "")

    def _image(self, node: LexborNode, tag: str) -> None:
        src = node.attrs.sget("src", "")
        if src and not src.startswith("data:"):
            alt = " ".join(node.attrs.sget("alt", "").split())
            self._buf.append(f"![{alt}]({self._resolve(src)})" if self._md else alt)
            self._visible.append(f" {alt} ")

    def result(self) -> Rendered:
        """The rendered document and its visible text."""
        self._flush()
        out = "\n\n".join(self._blocks)
        if "\n\n\n" in out:
            out = _BLANKS.sub("\n\n", out)
        return Rendered(out.strip(), "".join(self._visible))


def render(root: LexborNode, resolve: LinkResolver, *, markdown: bool, skip: frozenset[int] = frozenset()) -> Rendered:
    """Markdown or plain text of `root`, and its visible text.

    Args:
        root: The content root (e.g. <main> or <body>).
        resolve: Makes links and image sources absolute (shared between renderings of one page).
        markdown: Markdown when true, plain text (no markup) otherwise.
        skip: mem_ids of elements to leave out (hidden elements).
    """
    renderer = _Renderer(resolve, skip, markdown)
    renderer.element(root)
    return renderer.result()

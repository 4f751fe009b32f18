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

The walk is iterative (an explicit stack, see `_Renderer`), so nesting depth is
bounded by the parser's input limits, not by Python's recursion limit.

Speed notes: text nodes are appended as they are and whitespace is collapsed
once per block (not once per node); nested content is captured by marking
positions in shared buffers (no objects per element); tags dispatch through a
dict; relative links resolve through a per-page memo. Markdown and text are
separate walks, so a caller that wants one format pays for one.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from types import GeneratorType
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


_Steps = Iterator[LexborNode]
"""A handler's walk: every node it yields has its children rendered before the handler resumes."""
_Handler = Callable[[LexborNode, str], "_Steps | None"]
_Capture = Generator[LexborNode, None, str]
_Done = Callable[[LexborNode, str, str], None]


class _Renderer:
    """One walk producing markdown (`markdown=True`) or plain text.

    The walk keeps its own stack (`_drive`) instead of recursing, so a document nested
    as deeply as the parser allows renders without touching Python's recursion limit.
    A handler that renders an element's content is a generator: yielding a node asks
    the driver to render that node's children, and the handler resumes afterwards.
    """

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
        self._handlers: dict[str | None, _Handler] = {
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

    def _simple_inline(self, node: LexborNode) -> str | None:
        """The node's one line of text when it holds a single text node, maybe wrapped in plain
        elements (<span>): the common case, read without a walk. None when it needs a walk."""
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
        return None

    def _inline(self, node: LexborNode) -> _Capture:
        """The node's content as one line (blocks and line breaks inside are run together)."""
        simple = self._simple_inline(node)
        if simple is not None:
            return simple
        buf = self._buf
        mark = len(buf)
        self._inline_depth += 1
        yield node
        self._inline_depth -= 1
        text = " ".join("".join(buf[mark:]).replace(_BR, " ").split())
        del buf[mark:]
        return text

    def _inline_then(self, node: LexborNode, tag: str, done: _Done) -> _Steps | None:
        """Render the node's content as one line, then call `done(node, tag, line)`.

        No generator is made for the common case that needs no walk (see `_simple_inline`).
        """
        simple = self._simple_inline(node)
        if simple is not None:
            done(node, tag, simple)
            return None
        return self._inline_walk(node, tag, done)

    def _inline_walk(self, node: LexborNode, tag: str, done: _Done) -> _Steps:
        text = yield from self._inline(node)
        done(node, tag, text)

    def _capture_blocks(self, node: LexborNode) -> _Capture:
        """The node's content as blocks joined by blank lines."""
        self._flush()
        mark = len(self._blocks)
        yield node
        self._flush()
        text = "\n\n".join(self._blocks[mark:])
        del self._blocks[mark:]
        return text

    # -- walk
    def _drive(self, steps: _Steps) -> None:
        """Run a handler's walk to the end with an explicit stack (no recursion)."""
        skip, handlers, append, visible = self._skip, self._handlers, self._buf.append, self._visible.append
        # Handlers are Python generators (they yield nodes whose children to render);
        # the parser's child iterators are Cython generators (they yield nodes to render).
        stack: list[Iterator[LexborNode]] = [steps]
        while stack:
            top = stack[-1]
            if top.__class__ is GeneratorType:
                node = next(top, None)
                if node is None:
                    stack.pop()
                else:
                    stack.append(node.iter(include_text=True))
                continue
            for node in top:  # resumes where the previous pass over this level stopped
                tag = node.tag
                if tag == "-text":
                    text = node.text_content or ""
                    append(text)
                    visible(text)
                    continue
                if skip and node.mem_id in skip:
                    continue
                handler = handlers.get(tag)
                if handler is None:
                    stack.append(node.iter(include_text=True))
                    break
                nested = handler(node, tag or "")
                if nested is not None:
                    stack.append(nested)
                    break
            else:
                stack.pop()

    def element(self, node: LexborNode) -> None:
        """Render `node` itself (the content root)."""
        handler = self._handlers.get(node.tag)
        steps = _children(node) if handler is None else handler(node, node.tag or "")
        if steps is not None:
            self._drive(steps)

    # -- handlers
    def _ignore(self, node: LexborNode, tag: str) -> None:
        return None

    def _block(self, node: LexborNode, tag: str) -> _Steps:
        if self._inline_depth:
            self._buf.append(" ")
            self._visible.append(" ")
            yield node
            return
        self._flush()
        yield node
        self._flush()

    def _link(self, node: LexborNode, tag: str) -> _Steps | None:
        return self._inline_then(node, tag, self._link_done)

    def _link_done(self, node: LexborNode, tag: str, text: str) -> None:
        if self._md and text:
            href = node.attrs.sget("href", "")
            url = self._resolve(href) if href else ""
            if url:
                text = f"[{text}]({url})"
        self._buf.append(text)

    def _heading(self, node: LexborNode, tag: str) -> _Steps | None:
        return self._inline_then(node, tag, self._heading_done)

    def _heading_done(self, node: LexborNode, tag: str, text: str) -> None:
        if not text:
            return
        if self._inline_depth:
            self._buf.append(text)
        else:
            self._add_block(_HEADINGS[tag] + text if self._md else text)

    def _emphasis(self, node: LexborNode, tag: str) -> _Steps | None:
        return self._inline_then(node, tag, self._emphasis_done)

    def _emphasis_done(self, node: LexborNode, tag: str, text: str) -> None:
        if self._md and text:
            mark = _EMPHASIS[tag]
            text = f"{mark}{text}{mark}"
        self._buf.append(text)

    def _br(self, node: LexborNode, tag: str) -> None:
        self._buf.append(_BR)
        self._visible.append("\n")

    def _code(self, node: LexborNode, tag: str) -> _Steps | None:
        return self._inline_then(node, tag, self._code_done)

    def _code_done(self, node: LexborNode, tag: str, text: str) -> None:
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

    def _list(self, node: LexborNode, tag: str) -> _Steps:
        if self._inline_depth:
            yield node
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
            captured = yield from self._capture_blocks(item)
            items.append(marker + _indent(captured, len(marker)))
        self._add_block("\n".join(items))

    def _item(self, node: LexborNode, tag: str) -> _Steps:
        if self._inline_depth:
            yield node
            return
        captured = yield from self._capture_blocks(node)
        self._add_block("- " + _indent(captured, 2))

    def _quote(self, node: LexborNode, tag: str) -> _Steps:
        if self._inline_depth:
            yield node
            return
        text = yield from self._capture_blocks(node)
        if self._md:
            text = "\n".join("> " + line if line else ">" for line in text.split("\n"))
        self._add_block(text)

    def _table(self, node: LexborNode, tag: str) -> _Steps:
        if self._inline_depth:
            yield node
            return
        self._flush()
        rows: list[list[str]] = []
        for tr in node.css("tr"):
            cells: list[str] = []
            for cell in tr.iter():
                if cell.tag in ("td", "th"):
                    text = yield from self._inline(cell)
                    self._visible.append(" \n")
                    cells.append(text)
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


def _children(node: LexborNode) -> _Steps:
    yield node


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

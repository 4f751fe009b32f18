"""How deeply an HTML document nests, estimated from its tags before it is parsed.

Layer: domain (pure). HTML tree construction checks the stack of open elements for
every tag (scope checks walk it), so parsing costs time proportional to the depth of
that stack for each element: 100,000 nested `<div>`s take minutes to parse. Browsers
cap the depth (Blink at 512); Lexbor does not, so the service refuses a document whose
nesting passes its limit before handing it to the parser.

`nesting_depth` follows the start and end tags with the tree builder's rules that
decide how deep the stack gets (WHATWG HTML 13.2.6): void elements are never pushed;
an end tag closes only an element in scope, and an end tag of an ordinary element
stops at a "special" element above it (so `<span><div></span>` keeps both open); a
start tag closes an open `<p>`, `<li>`, `<dt>`/`<dd>`, table cell or row, heading or
option as the parser does; formatting elements closed implicitly count as open until
their own end tag (the parser reopens them). Where the rules are approximated (foster
parenting, the adoption agency, `<select>` and foreign content) the estimate errs on
the deep side. Text inside comments, scripts, styles and other raw-text elements is
skipped.

The scan runs in Python, so `NestingLimit.check` skips it for documents with few tags:
with fewer than `min_tags` "<" characters, no nesting can make the parse slow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentplane.errors import ResourceExhaustedError

__all__ = ["NestingLimit", "nesting_depth"]

_TAGS = re.compile(
    rb"<!--.*?(?:-->|\Z)"
    rb"|<(script|style|textarea|title|xmp|iframe|noembed|noframes|plaintext)\b[^>]*>.*?(?:</\1\s*>|\Z)"
    rb"|<(/?)([a-z][^\s/>]*)",
    re.IGNORECASE | re.DOTALL,
)
_VOID = frozenset(
    b"area base basefont bgsound br col embed frame hr image img input keygen link meta param source track wbr".split()
)
_SCOPE = frozenset(b"applet caption html table td th marquee object template svg math select".split())
"""Elements that bound "has an element in scope" (the default scope); <select> too, whose content
model keeps a <div> from closing an open <p> outside it (an estimate errs on the deep side)."""
_LIST_SCOPE = frozenset(b"ol ul".split())
_BUTTON_SCOPE = frozenset((b"button",))
_SPECIAL = frozenset(
    (
        b"address applet area article aside base basefont bgsound blockquote body br button caption center col "
        b"colgroup dd details dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 "
        b"h4 h5 h6 head header hgroup hr html iframe img input keygen li link listing main marquee menu meta nav "
        b"noembed noframes noscript object ol p param plaintext pre script search section select source style "
        b"summary table tbody td template textarea tfoot th thead title tr track ul wbr xmp"
    ).split()
)
_CLOSES_P = frozenset(
    (
        b"address article aside blockquote center details dialog dir div dl fieldset figcaption figure footer "
        b"form header hgroup main menu nav ol p search section summary ul h1 h2 h3 h4 h5 h6 pre listing table "
        b"xmp dd dt li plaintext"
    ).split()
)
_FORMATTING = frozenset(b"a b big code em font i nobr s small strike strong tt u".split())
_ROW_PARTS = frozenset((b"td", b"th", b"tr"))
_SECTIONS = frozenset((b"tbody", b"thead", b"tfoot"))
_END_SCOPES = {b"li": "list", b"p": "button"}
_HEADINGS = frozenset(b"h1 h2 h3 h4 h5 h6".split())
# A start tag closes these open elements (when in the given scope), innermost first: name -> (names, scope).
_CELLS = (b"td", b"th")
_IMPLIED: dict[bytes, tuple[tuple[bytes, ...], str]] = {
    b"li": ((b"li",), "list"),
    b"dt": ((b"dt", b"dd"), "default"),
    b"dd": ((b"dt", b"dd"), "default"),
    b"td": (_CELLS, "default"),
    b"th": (_CELLS, "default"),
    b"tr": ((*_CELLS, b"tr"), "default"),
    b"tbody": ((*_CELLS, b"tr", b"tbody", b"thead", b"tfoot"), "default"),
    b"thead": ((*_CELLS, b"tr", b"tbody", b"thead", b"tfoot"), "default"),
    b"tfoot": ((*_CELLS, b"tr", b"tbody", b"thead", b"tfoot"), "default"),
    b"option": ((b"option",), "top"),
    b"optgroup": ((b"option", b"optgroup"), "top"),
    b"a": ((b"a",), "ordinary"),
    b"nobr": ((b"nobr",), "ordinary"),
    b"button": ((b"button",), "default"),
}


class _Stack:
    """The simulated stack of open elements, with the positions needed for O(1) scope checks."""

    __slots__ = ("buttons", "lists", "names", "positions", "reopen", "scopes", "specials")

    def __init__(self) -> None:
        self.names: list[bytes] = []
        self.positions: dict[bytes, list[int]] = {}
        self.scopes: list[int] = [-1]
        self.lists: list[int] = [-1]
        self.buttons: list[int] = [-1]
        self.specials: list[int] = [-1]
        self.reopen: dict[bytes, int] = {}
        """Formatting elements closed implicitly, which the parser reopens, by name."""

    def push(self, name: bytes) -> None:
        index = len(self.names)
        self.names.append(name)
        self.positions.setdefault(name, []).append(index)
        if name in _SCOPE:
            self.scopes.append(index)
        elif name in _LIST_SCOPE:
            self.lists.append(index)
        elif name in _BUTTON_SCOPE:
            self.buttons.append(index)
        if name in _SPECIAL:
            self.specials.append(index)

    def open_at(self, name: bytes, scope: str) -> int:
        """Index of the topmost open `name` within `scope`, or -1."""
        found = self.positions.get(name)
        if not found:
            return -1
        index = found[-1]
        if scope == "top":
            return index if index == len(self.names) - 1 else -1
        bound = self.scopes[-1]
        if scope == "list":
            bound = max(bound, self.lists[-1])
        elif scope == "button":
            bound = max(bound, self.buttons[-1])
        elif scope == "ordinary":
            bound = max(bound, self.specials[-1])
        return index if index >= bound else -1

    def pop_to(self, index: int, closing: bytes) -> None:
        """Pop the elements from the top down to `index` (included)."""
        names = self.names
        while len(names) > index:
            name = names.pop()
            top = len(names)
            self.positions[name].pop()
            for marks in (self.scopes, self.lists, self.buttons, self.specials):
                if marks[-1] == top:
                    marks.pop()
            if name in _FORMATTING and name != closing:
                self.reopen[name] = self.reopen.get(name, 0) + 1


def nesting_depth(document: bytes, limit: int) -> int:
    """An estimate of the deepest nesting of open elements in `document`, never below the parser's.

    Args:
        document: The HTML (in an ASCII-compatible encoding).
        limit: Stop reading once the depth passes this.

    Returns:
        The deepest nesting found, or the first depth above `limit`.
    """
    stack = _Stack()
    deepest = 0
    for match in _TAGS.finditer(document):
        raw = match.group(3)
        if raw is None:
            continue  # a comment or a raw-text element: nothing stays open
        name = raw.lower()
        if match.group(2):
            _end_tag(stack, name)
            continue
        if name in _VOID:
            continue
        if name in _CLOSES_P:
            at = stack.open_at(b"p", "button")
            if at >= 0:
                stack.pop_to(at, b"p")
        implied = _IMPLIED.get(name)
        if implied is not None:
            closes, scope = implied
            for closed in closes:
                at = stack.open_at(closed, scope)
                if at >= 0:
                    stack.pop_to(at, name)
        elif name in _HEADINGS and stack.names and stack.names[-1] in _HEADINGS:
            stack.pop_to(len(stack.names) - 1, name)
        if name in _ROW_PARTS:  # the parser inserts the <tbody> and <tr> a table cell or row lacks
            top = stack.names[-1] if stack.names else b""
            if name != b"tr" and top != b"tr":
                if top not in _SECTIONS:
                    stack.push(b"tbody")
                stack.push(b"tr")
            elif name == b"tr" and top not in _SECTIONS:
                stack.push(b"tbody")
        stack.push(name)
        depth = len(stack.names) + (sum(stack.reopen.values()) if stack.reopen else 0)
        if depth > deepest:
            deepest = depth
            if depth > limit:
                break
    return deepest


def _end_tag(stack: _Stack, name: bytes) -> None:
    if name in (b"body", b"html"):
        return  # the parser keeps both open (content after them goes back into <body>)
    scope = _END_SCOPES.get(name, "default") if name in _SPECIAL else "ordinary"
    at = stack.open_at(name, scope)
    if at >= 0:
        stack.pop_to(at, name)
    elif stack.reopen.get(name):
        stack.reopen[name] -= 1


@dataclass(frozen=True)
class NestingLimit:
    """The deepest nesting a document may have, and from how many tags it is checked."""

    max_depth: int
    """Deeper documents are refused (browsers stop nesting at 512 as well)."""
    min_tags: int
    """Documents with fewer "<" than this are not scanned (their worst-case parse is short)."""

    def check(self, document: bytes, url: str) -> None:
        """Refuse `document` when it nests deeper than `max_depth`.

        Raises:
            ResourceExhaustedError: reason PAGE_TOO_DEEP, naming the limit.
        """
        if document.count(b"<") < self.min_tags:
            return
        depth = nesting_depth(document, self.max_depth)
        if depth > self.max_depth:
            raise ResourceExhaustedError(
                f"{url or 'the document'} nests elements more than {self.max_depth} deep "
                "(content.max_nesting_depth); it was not parsed",
                reason="PAGE_TOO_DEEP",
                metadata={"url": url[:200], "limit": str(self.max_depth)},
            )

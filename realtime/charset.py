"""Turning a body into text: charset from BOM, header, <meta>/XML declaration, then detection.

Layer: domain. Order as browsers do (WHATWG encoding sniffing): a byte-order mark
wins, then the Content-Type charset, then a `<meta charset>` (or http-equiv, or
an XML declaration) in the first bytes, then UTF-8 if the body is valid UTF-8,
then charset-normalizer's detection. Labels browsers treat as windows-1252
(latin-1, ascii) decode as windows-1252. Undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

__all__ = ["DecodedText", "declared_charset", "decode_body", "normalise_charset"]

_PRESCAN_BYTES = 4096
_DETECT_BYTES = 65536
_TIE_CHAOS = 0.02
_META = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_BOM_OF = {name: bom for bom, name in _BOMS}
_WINDOWS_1252_ALIASES = frozenset({"latin_1", "iso8859-1", "ascii", "iso-8859-1", "us-ascii", "cp1252"})


class DecodedText(str):
    """Decoded text that remembers the charset used (`.charset`) and how it was chosen (`.source`)."""

    charset: str
    source: str

    def __new__(cls, text: str, charset: str, source: str) -> DecodedText:
        obj = super().__new__(cls, text)
        obj.charset = charset
        obj.source = source
        return obj


def normalise_charset(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    if name in _WINDOWS_1252_ALIASES:
        return "cp1252"
    return name


def _declared_in_markup(body: bytes) -> str | None:
    match = _META.search(body[:_PRESCAN_BYTES])
    if match is None:
        return None
    label = (match.group(1) or match.group(2) or b"").decode("ascii", errors="ignore")
    name = normalise_charset(label)
    # A page that says utf-16 in ASCII-compatible bytes is really utf-8 (WHATWG).
    return "utf-8" if name in ("utf-16", "utf-16-le", "utf-16-be") else name


def declared_charset(body: bytes, header_charset: str | None) -> tuple[str, str] | None:
    """(charset, how) when a BOM, the header or the markup names the charset; None when it must be detected.

    `how` is "bom", "header" or "meta". Nothing is decoded.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, "bom"
    declared = normalise_charset(header_charset)
    if declared is not None:
        return declared, "header"
    declared = _declared_in_markup(body)
    if declared is not None:
        return declared, "meta"
    return None


def decode_body(body: bytes, header_charset: str | None) -> DecodedText:
    """Decode `body`, choosing the charset as described in the module docstring."""
    declared = declared_charset(body, header_charset)
    if declared is not None:
        name, how = declared
        if how == "bom":
            return DecodedText(body[len(_BOM_OF[name]) :].decode(name, errors="replace"), name, how)
        return DecodedText(body.decode(name, errors="replace"), name, how)
    try:
        return DecodedText(body.decode("utf-8"), "utf-8", "detected")
    except UnicodeDecodeError:
        pass
    return _detected(body)


def _detected(body: bytes) -> DecodedText:
    results = list(from_bytes(body[:_DETECT_BYTES]))
    if not results:
        return DecodedText(body.decode("cp1252", errors="replace"), "cp1252", "default")
    best = results[0]
    # Single-byte Western pages are often a tie between code pages that decode them
    # identically; browsers default to windows-1252, so prefer it among the tied ones.
    for match in results:
        if match.chaos > best.chaos + _TIE_CHAOS:
            break
        if "cp1252" in match.could_be_from_charset:
            return DecodedText(body.decode("cp1252", errors="replace"), "cp1252", "detected")
    name = normalise_charset(best.encoding) or "cp1252"
    return DecodedText(body.decode(name, errors="replace"), name, "detected")

"""JSON-like values encoded straight to `google.protobuf.Struct` wire bytes.

Layer: RPC boundary helper (used by service.py only; imports no protobuf). An
extraction result can hold hundreds of values; building a `Struct` message value by
value costs about a microsecond each in Python, while writing the wire bytes and
letting protobuf parse them in C costs a third of that. The encoding is the one
protobuf itself produces: map entries (key = 1, value = 2), `Value` oneof fields
(null = 1, number = 2 as a double, string = 3, bool = 4, struct = 5, list = 6).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["encode_struct"]

_SMALL = tuple(bytes((n,)) for n in range(128))
_DOUBLE = struct.Struct("<d")
_NULL = b"\x08\x00"
_TRUE = b"\x20\x01"
_FALSE = b"\x20\x00"


def _varint(n: int) -> bytes:
    if n < 128:
        return _SMALL[n]
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="replace")


def _list(items: Iterable[Any]) -> bytes:
    parts: list[bytes] = []
    append = parts.append
    small = _SMALL
    for item in items:
        if type(item) is str:
            raw = item.encode("utf-8", errors="replace")
            size = len(raw)
            if size < 126:  # both lengths fit in one byte: the common case, written inline
                append(b"\x0a" + small[size + 2] + b"\x1a" + small[size] + raw)
                continue
            value = b"\x1a" + _varint(size) + raw
        else:
            value = _value(item)
        append(b"\x0a" + _varint(len(value)) + value)
    return b"".join(parts)


def _value(value: Any) -> bytes:
    """One `google.protobuf.Value`."""
    if isinstance(value, str):
        raw = _utf8(value)
        return b"\x1a" + _varint(len(raw)) + raw
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _TRUE if value else _FALSE
    if isinstance(value, int | float):
        return b"\x11" + _DOUBLE.pack(float(value))
    if isinstance(value, Mapping):
        body = encode_struct(value)
        return b"\x2a" + _varint(len(body)) + body
    if isinstance(value, list | tuple):
        body = _list(value)
        return b"\x32" + _varint(len(body)) + body
    raw = _utf8(str(value))
    return b"\x1a" + _varint(len(raw)) + raw


def encode_struct(data: Mapping[str, Any]) -> bytes:
    """The wire bytes of a `google.protobuf.Struct` holding `data`.

    Args:
        data: str keys; values str, None, bool, int, float (numbers become doubles,
            as in any Struct), nested mappings, lists or tuples; anything else is
            written as its str().
    """
    parts: list[bytes] = []
    for key, value in data.items():
        raw_key = _utf8(key)
        encoded = _value(value)
        entry = b"\x0a" + _varint(len(raw_key)) + raw_key + b"\x12" + _varint(len(encoded)) + encoded
        parts.append(b"\x0a" + _varint(len(entry)) + entry)
    return b"".join(parts)

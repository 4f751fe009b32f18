"""Struct wire encoding: the bytes parse to exactly the Struct protobuf would build."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

from realtime.struct_wire import encode_struct

CASES: list[dict[str, Any]] = [
    {"title": "Acme", "missing": None, "links": ["/a", "/b", ""], "count": 3, "price": -12.5, "ok": True, "no": False},
    {"nested": {"amount": 1234.5, "currency": "EUR", "deeper": {"x": [1, "two", None, True, {"y": []}]}}},
    {
        "unicode": "\u20ac \u2013 \u65e5\u672c \U0001f600",
        "long": "x" * 127,
        "longer": "y" * 300,
        "list_of_long": ["z" * 126, "w" * 5000],
    },
    {"empty_list": [], "empty_map": {}, "zero": 0, "empty": "", "tuple": ("a", 1)},
    {"k" * 200: "long key", "": "empty key"},
]


@pytest.mark.parametrize("data", CASES)
def test_encoding_matches_protobufs_own_struct(data: dict[str, Any]) -> None:
    expected = json_format.ParseDict(json_format.MessageToDict(_reference(data)), struct_pb2.Struct())
    parsed = struct_pb2.Struct()
    parsed.ParseFromString(encode_struct(data))
    assert parsed == expected
    assert json_format.MessageToDict(parsed) == json_format.MessageToDict(_reference(data))


def test_lone_surrogates_become_replacement_characters() -> None:
    parsed = struct_pb2.Struct()
    parsed.ParseFromString(encode_struct({"bad": "a\ud800b"}))
    assert parsed["bad"] == "a?b"


def _reference(data: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update({k: list(v) if isinstance(v, tuple) else v for k, v in data.items()})
    return out

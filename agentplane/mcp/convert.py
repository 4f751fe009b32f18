"""Protobuf field conversions every MCP adapter needs for its JSON output models.

Layer: shared core, MCP boundary. Timestamps become RFC 3339 strings (None when unset),
`Struct`s become plain dicts, and enum values become their short lower-case names
(`TASK_STATE_NEEDS_REVIEW` -> "needs_review").
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

__all__ = ["enum_name", "struct_dict", "timestamp_iso"]


def timestamp_iso(ts: timestamp_pb2.Timestamp) -> str | None:
    """RFC 3339 UTC time of `ts`, or None when it is unset (zero)."""
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToJsonString()


def struct_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as a plain JSON-ready dict."""
    return json_format.MessageToDict(struct)


def enum_name(enum_type: Any, value: int, prefix: str) -> str:
    """The short lower-case name of a value of a generated enum type ("" for an unknown value)."""
    try:
        name: str = enum_type.Name(value)
    except ValueError:
        return ""
    return name.removeprefix(prefix).lower()

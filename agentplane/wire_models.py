"""Wire documents validated by pydantic, refused with one clear error shape.

Layer: shared core, domain level. A front declares the request body it accepts as
`TypedDict`s with pydantic constraints (types, ranges, literals, lengths), wraps it
once with `wire_type`, and calls `parse`: a document that does not fit becomes an
`InvalidArgumentError` whose field violation names the first bad field the way users
write it (`messages[0].content[1]`) and says what the field must be, in the front's
own words (a table of problems per field pattern), so the messages users see do not
depend on pydantic's wording.

TypedDicts rather than models: validation returns plain dicts without building an
object per message, which keeps request parsing within a few microseconds on the
gateway's hot path. Unions of item shapes use `Discriminator` with `Tag`s written
`type=<value>`; such tags never show up in a field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from agentplane.errors import FieldViolation, InvalidArgumentError

__all__ = ["WIRE_CONFIG", "field_paths", "invalid", "parse", "wire_type"]

T = TypeVar("T")

WIRE_CONFIG = ConfigDict(extra="ignore", strict=True)
"""Config of every wire TypedDict: unknown fields are ignored (clients send many), nothing is coerced."""

# Segments pydantic adds to an error location for the member of a union that failed.
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "none", "dict", "list", "tagged-union"})


def wire_type(tp: type[T]) -> TypeAdapter[T]:
    """The validator of a wire TypedDict (build once, at import)."""
    return TypeAdapter(tp)


def _is_field(part: str) -> bool:
    # Field names are snake_case; union tags are type names (`list[...]`, `Foo`, `_Foo`) or `type=...`.
    return bool(part) and part[0].islower() and part not in _UNION_TAGS and not any(c in part for c in "[=")


def invalid(field: str, problem: str, *, reason: str = "INVALID_REQUEST") -> InvalidArgumentError:
    """The error for one bad field: message `<field>: <problem>`, one violation."""
    return InvalidArgumentError(f"{field}: {problem}", reason=reason, violations=[FieldViolation(field, problem)])


def field_paths(loc: tuple[int | str, ...]) -> list[tuple[str, str]]:
    """(path, pattern) of a pydantic error location and of each enclosing field, innermost first.

    For `("messages", 0, "role")`: `messages[0].role` / `messages[].role`, then `messages[0]` /
    `messages[]`, then `messages`. Union-member tags that pydantic inserts (`str`, `list[...]`,
    `function-after[...]`) are dropped.
    """
    out: list[tuple[str, str]] = []
    path = ""
    pattern = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            pattern += "[]"
        elif not _is_field(part):
            continue
        else:
            path += f".{part}" if path else part
            pattern += f".{part}" if pattern else part
        out.append((path, pattern))
    out.reverse()
    return out or [("body", "body")]


def _from_validation_error(exc: ValidationError, problems: Mapping[str, str]) -> InvalidArgumentError:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return invalid("body", "is not valid")
    # A union reports one error per member: the deepest location is the one the caller got wrong.
    first = max(errors, key=lambda e: len(e["loc"]))
    paths = field_paths(first["loc"])
    # The innermost field the front describes names the problem (`metadata.x` -> `metadata`).
    for path, pattern in paths:
        problem = problems.get(pattern)
        if problem is not None:
            return invalid(path, problem)
    if first["type"] == "value_error" and "ctx" in first:
        problem = str(first["ctx"]["error"])
    elif first["type"] == "missing":
        problem = "is required"
    else:
        problem = first["msg"][:1].lower() + first["msg"][1:]
    return invalid(paths[0][0], problem)


def parse(adapter: TypeAdapter[T], doc: Any, problems: Mapping[str, str]) -> T:
    """`doc` (a decoded JSON value) validated by `adapter`.

    Args:
        adapter: The body's validator (`wire_type`).
        doc: The decoded document.
        problems: Field pattern (`messages[].role`) -> what the field must be.

    Raises:
        InvalidArgumentError: The document does not fit; names the first bad field.
    """
    if not isinstance(doc, dict):
        raise invalid("body", "must be a JSON object")
    try:
        return adapter.validate_python(doc)
    except ValidationError as exc:
        raise _from_validation_error(exc, problems) from None

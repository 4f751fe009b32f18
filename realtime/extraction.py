"""Declarative extraction: a schema of CSS selectors turned into structured data.

Layer: domain (selectolax). A schema is a tree of fields; each field selects
elements relative to its parent's element, reads their text, an attribute or
their HTML, optionally narrows the string with a regular expression, and
coerces it (number, integer, date, currency, URL, boolean). Nested fields turn
every match into an object. The result says, per field (nested ones as
"parent.child"), whether it was found and how often, and scores completeness:
the share of fields found, required fields weighted double, a nested field
counted by the share of its parent's matches that have it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from agentplane.errors import FieldViolation, InvalidArgumentError
from realtime import coercion
from realtime.config import ExtractionLimits

__all__ = ["ExtractionResult", "FieldOutcome", "FieldSpec", "FieldType", "Schema", "extract", "validate_schema"]


class FieldType(enum.Enum):
    """How a matched string is read."""

    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    DATE = "date"
    CURRENCY = "currency"
    URL = "url"
    BOOLEAN = "boolean"
    HTML = "html"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a schema (see the module docstring)."""

    name: str
    selector: str = ""
    attribute: str = ""
    type: FieldType = FieldType.TEXT
    multiple: bool = False
    required: bool = False
    fields: tuple[FieldSpec, ...] = ()
    pattern: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with watched sources)."""
        return {
            "name": self.name,
            "selector": self.selector,
            "attribute": self.attribute,
            "type": self.type.value,
            "multiple": self.multiple,
            "required": self.required,
            "fields": [f.to_dict() for f in self.fields],
            "pattern": self.pattern,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> FieldSpec:
        """Inverse of `to_dict`."""
        return FieldSpec(
            name=data["name"],
            selector=data.get("selector", ""),
            attribute=data.get("attribute", ""),
            type=FieldType(data.get("type", "text")),
            multiple=bool(data.get("multiple", False)),
            required=bool(data.get("required", False)),
            fields=tuple(FieldSpec.from_dict(f) for f in data.get("fields", [])),
            pattern=data.get("pattern", ""),
        )


@dataclass(frozen=True)
class Schema:
    """A named list of fields, validated by `validate_schema`."""

    name: str
    fields: tuple[FieldSpec, ...]
    patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False)
    """Compiled patterns by field path."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "fields": [f.to_dict() for f in self.fields]}


@dataclass(frozen=True)
class FieldOutcome:
    """Whether one field was found."""

    name: str
    found: bool
    count: int
    required: bool
    error: str = ""


@dataclass(frozen=True)
class ExtractionResult:
    """Extracted data with per-field outcomes and completeness in [0, 1]."""

    data: dict[str, Any]
    fields: tuple[FieldOutcome, ...]
    completeness: float


def validate_schema(name: str, fields: tuple[FieldSpec, ...], limits: ExtractionLimits) -> Schema:
    """Check names, selectors and patterns; compile patterns.

    Raises:
        InvalidArgumentError: With one violation per bad field ("schema.fields[1].selector").
    """
    probe = LexborHTMLParser("<p></p>")
    violations: list[FieldViolation] = []
    patterns: dict[str, re.Pattern[str]] = {}
    count = 0

    def visit(specs: tuple[FieldSpec, ...], where: str, path: str, depth: int) -> None:
        nonlocal count
        if depth > limits.max_depth:
            violations.append(FieldViolation(where, f"nesting deeper than {limits.max_depth} levels"))
            return
        names: set[str] = set()
        for index, spec in enumerate(specs):
            count += 1
            at = f"{where}[{index}]"
            if not spec.name or "." in spec.name:
                violations.append(FieldViolation(f"{at}.name", "a non-empty name without '.' is required"))
            elif spec.name in names:
                violations.append(FieldViolation(f"{at}.name", f"duplicate field name {spec.name!r}"))
            names.add(spec.name)
            if spec.selector:
                try:
                    probe.css(spec.selector)
                except (SelectolaxError, ValueError) as exc:
                    violations.append(
                        FieldViolation(f"{at}.selector", f"invalid CSS selector {spec.selector!r}: {exc}")
                    )
            elif depth == 0 and not spec.fields and not spec.attribute:
                violations.append(FieldViolation(f"{at}.selector", "a selector is required"))
            if spec.pattern:
                try:
                    patterns[f"{path}{spec.name}"] = re.compile(spec.pattern)
                except re.error as exc:
                    violations.append(FieldViolation(f"{at}.pattern", f"invalid regular expression: {exc}"))
            if spec.fields:
                visit(spec.fields, f"{at}.fields", f"{path}{spec.name}.", depth + 1)

    visit(fields, "schema.fields", "", 0)
    if not fields:
        violations.append(FieldViolation("schema.fields", "the schema has no fields"))
    if count > limits.max_fields:
        violations.append(FieldViolation("schema.fields", f"more than {limits.max_fields} fields"))
    if violations:
        raise InvalidArgumentError(
            f"the extraction schema is invalid: {violations[0].field}: {violations[0].description}",
            reason="BAD_SCHEMA",
            violations=violations,
        )
    return Schema(name, fields, patterns)


_Coerce = Callable[[str, str], Any]
_COERCE: dict[FieldType, _Coerce] = {
    FieldType.NUMBER: lambda raw, _: coercion.to_number(raw),
    FieldType.INTEGER: lambda raw, _: coercion.to_integer(raw),
    FieldType.DATE: lambda raw, _: coercion.to_date(raw),
    FieldType.CURRENCY: lambda raw, _: coercion.to_currency(raw),
    FieldType.URL: coercion.to_url,
    FieldType.BOOLEAN: lambda raw, _: coercion.to_boolean(raw),
}


@dataclass
class _Tally:
    found: int = 0
    count: int = 0
    parents: int = 0
    error: str = ""


class _Extractor:
    def __init__(self, schema: Schema, base_url: str, max_matches: int) -> None:
        self._schema = schema
        self._base = base_url
        self._max = max_matches
        self.tallies: dict[str, _Tally] = {}

    def run(self, context: LexborNode, specs: tuple[FieldSpec, ...], path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in specs:
            key = f"{path}{spec.name}"
            tally = self.tallies.setdefault(key, _Tally())
            tally.parents += 1
            if spec.selector:
                nodes = (
                    context.css(spec.selector)
                    if spec.multiple
                    else [n for n in [context.css_first(spec.selector)] if n]
                )
            else:
                nodes = [context]
            values = self.values(nodes[: self._max], spec, key, tally)
            if values:
                tally.found += 1
                tally.count += len(values)
            out[spec.name] = values if spec.multiple else (values[0] if values else None)
        return out

    def values(self, nodes: list[LexborNode], spec: FieldSpec, key: str, tally: _Tally) -> list[Any]:
        if spec.type is FieldType.TEXT and not spec.fields and key not in self._schema.patterns:
            # The common case, kept to one comprehension: plain text or attribute values.
            if spec.attribute:
                attr = spec.attribute
                return [v for n in nodes if (v := n.attrs.sget(attr, None)) is not None]
            return [" ".join(n.text(deep=True, separator=" ").split()) for n in nodes]
        values = []
        for node in nodes:
            value = self.value(node, spec, key, tally)
            if value is not None:
                values.append(value)
        return values

    def value(self, node: LexborNode, spec: FieldSpec, key: str, tally: _Tally) -> Any:
        if spec.fields:
            return self.run(node, spec.fields, f"{key}.")
        if spec.type is FieldType.HTML:
            raw = node.html or ""
        elif spec.attribute:
            attr = node.attrs.sget(spec.attribute, None)
            if attr is None:
                return None
            raw = attr
        else:
            raw = " ".join(node.text(deep=True, separator=" ").split())
        pattern = self._schema.patterns.get(key)
        if pattern is not None:
            match = pattern.search(raw)
            if match is None:
                tally.error = tally.error or f"pattern {pattern.pattern!r} does not match {raw[:60]!r}"
                return None
            raw = match.group(1) if match.groups() else match.group(0)
        if spec.type is FieldType.TEXT:
            return raw
        coerce = _COERCE.get(spec.type)
        if coerce is None:
            return raw
        try:
            return coerce(raw, self._base)
        except coercion.CoercionError as exc:
            tally.error = tally.error or str(exc)
            return None


def _outcomes(
    specs: tuple[FieldSpec, ...], tallies: dict[str, _Tally], path: str, parent_share: float
) -> tuple[list[FieldOutcome], float, float]:
    outcomes: list[FieldOutcome] = []
    got = total = 0.0
    for spec in specs:
        key = f"{path}{spec.name}"
        tally = tallies.get(key, _Tally())
        share = parent_share * (tally.found / tally.parents if tally.parents else 0.0)
        weight = 2.0 if spec.required else 1.0
        got += weight * share
        total += weight
        error = "" if tally.found else (tally.error or "no element matches the selector")
        outcomes.append(FieldOutcome(key, tally.found > 0, tally.count, spec.required, error))
        if spec.fields:
            sub, sub_got, sub_total = _outcomes(spec.fields, tallies, f"{key}.", share)
            outcomes.extend(sub)
            got += sub_got
            total += sub_total
    return outcomes, got, total


def extract(root: LexborNode, schema: Schema, base_url: str, max_matches: int = 1000) -> ExtractionResult:
    """Apply `schema` to the tree under `root`.

    Args:
        root: Usually the document's root element.
        schema: A schema from `validate_schema`.
        base_url: For URL fields.
        max_matches: Matches kept per list field.
    """
    extractor = _Extractor(schema, base_url, max_matches)
    data = extractor.run(root, schema.fields, "")
    outcomes, got, total = _outcomes(schema.fields, extractor.tallies, "", 1.0)
    completeness = round(got / total, 4) if total else 0.0
    return ExtractionResult(data, tuple(outcomes), completeness)

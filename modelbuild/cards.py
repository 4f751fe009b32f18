"""Model cards: one JSON document per model and its Markdown rendering.

Layer: build tooling.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from domain_inference.artifacts import CARD_JSON, CARD_MD

__all__ = ["render_markdown", "write_card"]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _is_scalar_row(value: Any) -> bool:
    return isinstance(value, Mapping) and all(not isinstance(v, (Mapping, list)) for v in value.values())


def _table(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows.values():
        columns += [c for c in row if c not in columns]
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(_format(row.get(c, "")) for c in columns) + " |")
    return lines


def _render(value: Any, depth: int) -> list[str]:
    indent = "  " * depth
    if isinstance(value, Mapping):
        if value and all(_is_scalar_row(v) for v in value.values()):
            return _table(value)
        lines: list[str] = []
        for key, item in value.items():
            if isinstance(item, (Mapping, list)) and item:
                lines.append(f"{indent}- **{key}**:")
                nested = _render(item, depth + 1)
                if nested and nested[0].startswith("|"):
                    lines.append("")
                lines += nested
                if nested and nested[0].startswith("|"):
                    lines.append("")
            else:
                lines.append(f"{indent}- **{key}**: {_format(item)}")
        return lines
    if isinstance(value, list):
        if value and all(_is_scalar_row(v) for v in value):
            return _table({str(i): v for i, v in enumerate(value)})
        return [
            f"{indent}- {_format(item) if not isinstance(item, (Mapping, list)) else ''}".rstrip() for item in value
        ]
    return [f"{indent}{_format(value)}"]


def render_markdown(card: Mapping[str, Any], summary: Sequence[tuple[str, str]]) -> str:
    """Render a card as Markdown: a summary table, then one section per top-level key.

    Args:
        card: The JSON card.
        summary: (figure, value) pairs shown first.
    """
    lines = [f"# Model card: {card['model']}", ""]
    if "description" in card:
        lines += [str(card["description"]), ""]
    if summary:
        lines += ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in summary] + [""]
    for key, value in card.items():
        if key in ("model", "description"):
            continue
        lines += [f"## {key.replace('_', ' ')}", ""]
        lines += _render(value, 0) if isinstance(value, (Mapping, list)) else [_format(value)]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_card(folder: Path, card: Mapping[str, Any], summary: Sequence[tuple[str, str]]) -> None:
    """Write `model_card.json` and `model_card.md` into `folder`."""
    (folder / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / CARD_MD).write_text(render_markdown(card, summary), encoding="utf-8")

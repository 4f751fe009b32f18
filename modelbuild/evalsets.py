"""Write the held-out sets as JSONL, so later evaluations use exactly the build's data.

Layer: build tooling.

Each line is one JSON object with `id`, `text`, `label` and `kind`. In-domain labels are topic
names; off-topic items carry the label `out_of_domain`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from modelbuild.corpus import Document
from modelbuild.offtopic import OffTopicText
from modelbuild.snippets import Snippet

__all__ = ["OUT_OF_DOMAIN", "write_articles", "write_jsonl", "write_off_topic", "write_snippets"]

OUT_OF_DOMAIN = "out_of_domain"


def write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> int:
    """Write rows as UTF-8 JSON lines with sorted keys; return how many were written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def write_articles(path: Path, documents: Sequence[Document]) -> int:
    """Write articles with kind `article`."""
    return write_jsonl(path, ({"id": d.doc_id, "text": d.text, "label": d.label, "kind": "article"} for d in documents))


def write_snippets(path: Path, snippets: Sequence[Snippet]) -> int:
    """Write snippets with ids `<doc_id>#<kind>`."""
    return write_jsonl(
        path, ({"id": f"{s.doc_id}#{s.kind}", "text": s.text, "label": s.label, "kind": s.kind} for s in snippets)
    )


def write_off_topic(path: Path, texts: Sequence[OffTopicText]) -> int:
    """Write off-topic texts labelled `out_of_domain`, kind `review` or `plot`."""
    return write_jsonl(path, ({"id": t.text_id, "text": t.text, "label": OUT_OF_DOMAIN, "kind": t.kind} for t in texts))

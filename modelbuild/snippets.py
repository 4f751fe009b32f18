"""Short in-domain texts cut from articles: titles, sentence windows and word windows.

Layer: build tooling (pure data handling).

Service requests are often a headline or a sentence, not an article. A head trained and
thresholded on 256-token articles misreads those, so the build trains and calibrates on short
pieces of the same articles too. Snippets inherit their article's split, so nothing leaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelbuild.corpus import Document

__all__ = ["Snippet", "cut_snippets", "split_sentences"]

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
MIN_WORD_WINDOW = 4
MAX_WORD_WINDOW = 40


@dataclass(frozen=True)
class Snippet:
    """A short piece of one article.

    Attributes:
        doc_id: The article it was cut from.
        label: The article's label.
        kind: "title", "sentences" or "words".
        text: The piece.
    """

    doc_id: str
    label: str
    kind: str
    text: str


def split_sentences(body: str) -> list[str]:
    """Split text into sentences at terminal punctuation followed by a capital or digit."""
    sentences: list[str] = []
    for line in body.split("\n"):
        paragraph = line.strip()
        if paragraph:
            sentences += [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]
    return sentences


def cut_snippets(documents: Sequence[Document], rng: np.random.Generator) -> list[Snippet]:
    """Cut three snippets per article: its title, 1-2 consecutive sentences and a word window.

    Args:
        documents: Articles, all from one split.
        rng: Source of the window positions and lengths.

    Returns:
        Snippets in article order; an article too short for a window yields fewer.
    """
    snippets: list[Snippet] = []
    for doc in documents:
        snippets.append(Snippet(doc.doc_id, doc.label, "title", doc.title))
        body = doc.text[len(doc.title) :].strip()
        sentences = split_sentences(body)
        if sentences:
            length = int(rng.integers(1, 3))
            start = int(rng.integers(0, max(1, len(sentences) - length + 1)))
            text = " ".join(sentences[start : start + length])
            snippets.append(Snippet(doc.doc_id, doc.label, "sentences", text))
        words = body.split()
        if len(words) >= MIN_WORD_WINDOW:
            length = int(rng.integers(MIN_WORD_WINDOW, min(MAX_WORD_WINDOW, len(words)) + 1))
            start = int(rng.integers(0, len(words) - length + 1))
            snippets.append(Snippet(doc.doc_id, doc.label, "words", " ".join(words[start : start + length])))
    return snippets

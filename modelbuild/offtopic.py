"""Off-topic text from the Rotten Tomatoes corpora: the OOD evaluation set and the disjoint
"other" pools used for training and for checking the gate.

Layer: build tooling (pure data handling).

Honesty rule: every text in the evaluation set, and every text about a film that appears in
the evaluation set, is kept out of the training and validation pools, so reviews of the same
film (which share names and plot words) cannot leak.
"""

from __future__ import annotations

import bz2
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelbuild.corpus import normalise_text

__all__ = ["OffTopicPools", "OffTopicText", "load_reviews", "partition_off_topic"]

REVIEW_CATEGORIES = ("fresh", "rotten")


@dataclass(frozen=True)
class OffTopicText:
    """One movie review snippet or plot synopsis.

    Attributes:
        text_id: "<corpus>:<row>", stable across builds.
        kind: "review" or "plot".
        movie: Film identifier from the corpus.
        text: The text, stripped.
    """

    text_id: str
    kind: str
    movie: str
    text: str


@dataclass(frozen=True)
class OffTopicPools:
    """Disjoint off-topic sets.

    Attributes:
        evaluation: OOD evaluation set; never trained on or used to fit thresholds.
        training: "Other" examples the OOD detector is trained on.
        validation: "Other" examples used only to check the gate before the evaluation set.
    """

    evaluation: tuple[OffTopicText, ...]
    training: tuple[OffTopicText, ...]
    validation: tuple[OffTopicText, ...]


def load_reviews(path: Path, corpus: str) -> list[OffTopicText]:
    """Read a Rotten Tomatoes CSV, keeping the first copy of each normalised text.

    Args:
        path: bzip2 CSV with `category`, `text` and `movie_name` columns.
        corpus: Short name used in `text_id`.

    Returns:
        Reviews (fresh and rotten) and plot synopses, in file order.
    """
    with bz2.open(path, "rb") as handle:
        rows = csv.DictReader(io.StringIO(handle.read().decode("utf-8")))
        texts: list[OffTopicText] = []
        seen: set[str] = set()
        for row_number, row in enumerate(rows):
            category = row["category"]
            kind = "review" if category in REVIEW_CATEGORIES else "plot" if category == "plot" else ""
            text = row["text"].strip()
            key = normalise_text(text)
            if not kind or not key or key in seen:
                continue
            seen.add(key)
            texts.append(OffTopicText(f"{corpus}:{row_number}", kind, row["movie_name"], text))
    return texts


def partition_off_topic(
    small: Sequence[OffTopicText],
    full: Sequence[OffTopicText],
    rng: np.random.Generator,
    evaluation_reviews: int = 500,
    training_size: int = 1600,
    validation_size: int = 400,
) -> OffTopicPools:
    """Draw the OOD evaluation set from `small`, then the other pools from what is left.

    The evaluation set is `evaluation_reviews` reviews drawn from the small corpus (the first
    use of `rng`) plus all of its plot synopses, so it has short and long texts. The training
    and validation pools come from `full` minus the evaluation texts and their films, shuffled
    by `rng`, with reviews and synopses in the pool's proportions.

    Returns:
        The three disjoint pools.
    """
    reviews = [t for t in small if t.kind == "review"]
    drawn = sorted(rng.choice(len(reviews), size=evaluation_reviews, replace=False).tolist())
    evaluation = [reviews[i] for i in drawn] + [t for t in small if t.kind == "plot"]
    banned_movies = {t.movie for t in evaluation}
    banned_texts = {normalise_text(t.text) for t in evaluation}
    pool = [t for t in full if t.movie not in banned_movies and normalise_text(t.text) not in banned_texts]
    order = rng.permutation(len(pool))
    shuffled = [pool[i] for i in order]
    validation = shuffled[:validation_size]
    training = shuffled[validation_size : validation_size + training_size]
    return OffTopicPools(tuple(evaluation), tuple(training), tuple(validation))

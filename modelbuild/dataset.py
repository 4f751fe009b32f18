"""Every text the build uses, read, de-duplicated and split once.

Layer: build tooling (pure data handling). Both the pipeline and the topic stage depend on
this module; it depends on neither.

Random draws all come from one `numpy.random.default_rng(seed)`, used in this order: the OOD
evaluation draw and off-topic pools, the article split, then the snippets of the train,
validation and test articles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from modelbuild.config import ModelBuildSettings
from modelbuild.corpus import CorpusSplit, deduplicate, load_bbc, split_stratified
from modelbuild.offtopic import OffTopicPools, load_reviews, partition_off_topic
from modelbuild.snippets import Snippet, cut_snippets
from modelbuild.sources import BuildSources

__all__ = ["PreparedData", "prepare_data"]


@dataclass(frozen=True)
class PreparedData:
    """Texts of every set, before embedding.

    Attributes:
        split: Deduplicated articles split into train, validation and test.
        snippets: Short pieces of the articles of each split ("train", "validation", "test").
        off_topic: OOD evaluation set and the disjoint "other" pools.
        articles_read: Articles read before de-duplication.
        duplicates_dropped: Articles dropped as duplicates.
    """

    split: CorpusSplit
    snippets: Mapping[str, Sequence[Snippet]]
    off_topic: OffTopicPools
    articles_read: int
    duplicates_dropped: int


def prepare_data(sources: BuildSources, settings: ModelBuildSettings) -> PreparedData:
    """Read, de-duplicate and split every text the build uses."""
    rng = np.random.default_rng(settings.seed)
    documents = load_bbc(sources.bbc_dir)
    kept, dropped = deduplicate(documents)
    off_topic = partition_off_topic(
        load_reviews(sources.reviews_csv, "rotten_tomatoes_corpus"),
        load_reviews(sources.reviews_full_csv, "rotten_tomatoes_corpus_full"),
        rng,
        evaluation_reviews=settings.ood_eval_reviews,
        training_size=settings.other_training_size,
        validation_size=settings.other_validation_size,
    )
    split = split_stratified(kept, rng, settings.train_share, settings.validation_share)
    snippets = {
        "train": cut_snippets(split.train, rng),
        "validation": cut_snippets(split.validation, rng),
        "test": cut_snippets(split.test, rng),
    }
    return PreparedData(split, snippets, off_topic, len(documents), dropped)

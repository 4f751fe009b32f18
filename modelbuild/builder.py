"""Build orchestration: skip when up to date, build into a temporary folder, swap it in.

Layer: build tooling.

Atomicity: artifacts are written to a sibling temporary folder and renamed over `out_dir`
only after the manifest is written, so a crash leaves either the previous artifacts or none,
never a half-written directory. A lock file serialises concurrent builds of one `out_dir`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain_inference.artifacts import MANIFEST
from modelbuild.cache import BuildCache
from modelbuild.config import ModelBuildSettings
from modelbuild.context import BuildContext
from modelbuild.manifest import input_hashes, input_key, is_up_to_date, write_manifest
from modelbuild.pipeline import run_pipeline
from modelbuild.progress import BuildProgress
from modelbuild.sources import locate_sources

__all__ = ["BuildResult", "ForeignDirectoryError", "build_models", "current_input_key"]


CACHE_DIR = ".build-cache"


class ForeignDirectoryError(RuntimeError):
    """`out_dir` holds files but no artifacts manifest, so the build will not replace it."""


@dataclass(frozen=True)
class BuildResult:
    """What a call to `build_models` did.

    Attributes:
        out_dir: The artifacts directory.
        built: False when the existing artifacts were up to date and kept.
        seconds: Wall time of this call.
        input_key: Fingerprint of the inputs.
        summary: Headline figures (from this build, or from the kept manifest).
    """

    out_dir: Path
    built: bool
    seconds: float
    input_key: str
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "out_dir": str(self.out_dir),
            "built": self.built,
            "seconds": round(self.seconds, 2),
            "input_key": self.input_key,
            "summary": self.summary,
        }


@contextmanager
def _exclusive_lock(out_dir: Path) -> Iterator[None]:
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove_stale(out_dir: Path) -> None:
    for stale in out_dir.parent.glob(f".{out_dir.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _swap_in(built: Path, out_dir: Path) -> None:
    if out_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-old-", dir=out_dir.parent))
        retired.rmdir()
        os.replace(out_dir, retired)
        os.replace(built, out_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(built, out_dir)


def current_input_key(settings: ModelBuildSettings | None = None) -> str:
    """The fingerprint a build with `settings` would record (cheap: hashes files, builds nothing).

    Raises:
        PackageMissingError: A package holding weights or data is not installed.
    """
    return input_key(input_hashes(locate_sources(), (settings or ModelBuildSettings()).to_dict()))


def build_models(
    out_dir: Path,
    force: bool = False,
    settings: ModelBuildSettings | None = None,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: BuildProgress | None = None,
) -> BuildResult:
    """Build the text-encoder and news-topic artifacts into `out_dir`, unless up to date.

    Args:
        out_dir: Artifacts directory (platform default `<data_dir>/models`); its parent is created.
        force: Rebuild even when the inputs and outputs are unchanged.
        settings: Build settings; defaults to `ModelBuildSettings()`.
        cache_dir: Cache of the exported encoder and the embeddings, reused while their own
            inputs are unchanged (default: `.build-cache` beside `out_dir`).
        use_cache: False recomputes every stage (the result is the same, only slower).
        progress: Progress reporter (default: stage and count lines on stderr).

    Returns:
        What was done, with a summary of the figures.

    Raises:
        PackageMissingError: A package holding weights or data is not installed.
        ForeignDirectoryError: `out_dir` is a non-empty directory without a manifest.
        ParityError: The exported encoder disagrees with torch; nothing is written.
        HeadExportError: The exported head disagrees with numpy; nothing is written.
    """
    started = time.perf_counter()
    settings = settings or ModelBuildSettings()
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    sources = locate_sources()
    inputs = input_hashes(sources, settings.to_dict())
    key = input_key(inputs)
    with _exclusive_lock(out_dir):
        existing = None if force else is_up_to_date(out_dir, key)
        if existing is not None:
            return BuildResult(out_dir, False, time.perf_counter() - started, key, dict(existing.get("summary", {})))
        if out_dir.exists() and not (out_dir / MANIFEST).is_file() and any(out_dir.iterdir()):
            raise ForeignDirectoryError(f"{out_dir} is not empty and holds no {MANIFEST}; refusing to replace it")
        _remove_stale(out_dir)
        # Nothing may be fetched from a model hub; every weight comes from installed packages.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
        try:
            cache = BuildCache((cache_dir or out_dir.parent / CACHE_DIR) if use_cache else None)
            context = BuildContext(cache, progress or BuildProgress())
            summary = run_pipeline(sources, staging / "artifacts", settings, inputs, context)
            write_manifest(
                staging / "artifacts",
                inputs,
                {
                    "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "build_seconds": round(time.perf_counter() - started, 1),
                    "summary": summary,
                },
            )
            _swap_in(staging / "artifacts", out_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out_dir, True, time.perf_counter() - started, key, summary)

"""A content-addressed cache of expensive build stages (the exported encoder, the embeddings).

Layer: build tooling (files only).

An entry is a folder named by the sha256 of everything its content depends on, so a hit is
exactly what a fresh run would compute and the build stays deterministic. Entries are
written to a temporary sibling and renamed into place, so a crash never leaves a partial
entry; only the newest `keep` entries of each kind are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["BuildCache", "cache_key"]


def cache_key(parts: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of `parts`."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class BuildCache:
    """Cached stage outputs under `root/<kind>/<key>/`.

    Args:
        root: Cache folder (created on first write); None disables caching.
        keep: Newest entries kept per kind.
    """

    def __init__(self, root: Path | None, keep: int = 2) -> None:
        self.root = root
        self._keep = keep
        self.hits: list[str] = []

    def entry(self, kind: str, key: str, produce: Callable[[Path], None]) -> Path:
        """The folder of entry `kind/key`, running `produce(folder)` to fill it on a miss.

        Args:
            kind: Stage name, e.g. "encoder" or "embeddings".
            key: `cache_key` of the stage's inputs.
            produce: Writes the stage's files into the (empty, existing) folder it is given.

        Returns:
            The entry's folder (read it, never modify it).
        """
        if self.root is None:
            folder = Path(tempfile.mkdtemp(prefix=f"agentplane-{kind}-"))
            produce(folder)
            return folder
        final = self.root / kind / key
        if (final / ".complete").is_file():
            self.hits.append(kind)
            os.utime(final)  # most recently used survives pruning
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.tmp-", dir=final.parent))
        try:
            produce(staging)
            (staging / ".complete").write_text(f"{time.time():.0f}\n")
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._prune(final.parent, final)
        return final

    def _prune(self, kind_dir: Path, current: Path) -> None:
        entries = [p for p in kind_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and p != current]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[max(0, self._keep - 1) :]:
            shutil.rmtree(stale, ignore_errors=True)

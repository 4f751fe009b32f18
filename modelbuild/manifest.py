"""Input fingerprints, the manifest, and the up-to-date check that makes builds idempotent.

Layer: build tooling.

The input key covers the model weights and tokenizer, every corpus file, the build code, the
build configuration and the versions of the libraries that compute the outputs. Equal keys
and intact outputs mean a rebuild would produce the same models, so it is skipped.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from domain_inference.artifacts import (
    ARTIFACT_FORMAT,
    MANIFEST,
    ArtifactsError,
    read_manifest,
)
from modelbuild.sources import MINILM_HASHED_FILES, BuildSources, sha256_file

__all__ = ["code_version", "input_hashes", "input_key", "is_up_to_date", "output_entries", "write_manifest"]

LIBRARIES = ("numpy", "onnx", "onnxruntime", "tokenizers", "torch", "transformers")
_BUILD_ROOT = Path(__file__).resolve().parent
_SOURCE_ROOT = _BUILD_ROOT.parent
# The serving modules whose formats the build writes (tokenizer settings, artifact layout).
_SERVING_FILES = ("domain_inference/tokenization.py", "domain_inference/artifacts.py")


def code_version() -> str:
    """sha256 over the build package's sources and the serving modules it writes for."""
    digest = hashlib.sha256()
    files = sorted(_BUILD_ROOT.rglob("*.py")) + [_SOURCE_ROOT / name for name in _SERVING_FILES]
    for path in files:
        digest.update(path.relative_to(_SOURCE_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _folder_digest(folder: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*.txt") if p.is_file())
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest(), len(files)


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def input_hashes(sources: BuildSources, config: Mapping[str, Any]) -> dict[str, Any]:
    """Fingerprint every build input.

    Args:
        sources: Located inputs.
        config: The build configuration, JSON-serialisable.

    Returns:
        A JSON-ready dict of sha256 digests, counts and versions.
    """
    bbc_digest, bbc_files = _folder_digest(sources.bbc_dir)
    return {
        "minilm": {name: sha256_file(sources.minilm_dir / name) for name in MINILM_HASHED_FILES},
        "bbc_corpus": {"sha256": bbc_digest, "files": bbc_files},
        "reviews_csv": sha256_file(sources.reviews_csv),
        "reviews_full_csv": sha256_file(sources.reviews_full_csv),
        "package_versions": dict(sorted(sources.versions.items())),
        "library_versions": _library_versions(),
        "code_version": code_version(),
        "config": dict(config),
    }


def input_key(inputs: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of `inputs`."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def output_entries(root: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file under `root` except the manifest, by relative path."""
    entries = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative != MANIFEST:
            entries[relative] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return entries


def write_manifest(root: Path, inputs: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """Write `root/manifest.json` listing the inputs, every output and `facts`.

    Returns:
        The manifest written.
    """
    manifest = {
        "format": ARTIFACT_FORMAT,
        "input_key": input_key(inputs),
        "inputs": dict(inputs),
        "outputs": output_entries(root),
        **dict(facts),
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def is_up_to_date(root: Path, key: str) -> dict[str, Any] | None:
    """Return the existing manifest when it has `key` and every output matches its hash.

    Returns:
        The manifest, or None when a build is needed.
    """
    try:
        manifest = read_manifest(root, verify_hashes=True)
    except ArtifactsError:
        return None
    return manifest if manifest.get("input_key") == key else None

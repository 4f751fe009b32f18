"""The reference models, built once per machine, for tests that run the whole platform."""

from __future__ import annotations

from pathlib import Path

REPO_MODELS = Path(__file__).resolve().parents[2] / ".agentplane" / "models"


def models_dir(scratch: Path) -> Path:
    """`.agentplane/models` when it is up to date (the normal case after `make`), else a build into `scratch`."""
    from domain_inference.modelbuild.builder import build_models
    from domain_inference.modelbuild.config import ModelBuildSettings
    from domain_inference.modelbuild.manifest import input_hashes, input_key, is_up_to_date
    from domain_inference.modelbuild.sources import locate_sources

    key = input_key(input_hashes(locate_sources(), ModelBuildSettings().to_dict()))
    if is_up_to_date(REPO_MODELS, key) is not None:
        return REPO_MODELS
    out = scratch / "models"
    build_models(out)
    return out

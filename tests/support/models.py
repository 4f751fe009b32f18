"""The reference models, built once per machine, for tests that run the whole platform."""

from __future__ import annotations

from pathlib import Path

REPO_MODELS = Path(__file__).resolve().parents[2] / ".agentplane" / "models"


def models_dir(scratch: Path) -> Path:
    """`.agentplane/models` when it is up to date (the normal case after `make`), else a build into `scratch`."""
    from modelbuild.builder import build_models, current_input_key
    from modelbuild.manifest import is_up_to_date

    if is_up_to_date(REPO_MODELS, current_input_key()) is not None:
        return REPO_MODELS
    out = scratch / "models"
    build_models(out)
    return out

"""Session fixture: one real, validated model-artifacts directory for every test.

Reuses `<repo>/.agentplane/models` when its manifest matches the current inputs (a build
there is then a no-op), otherwise builds once into a temporary directory (a few minutes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from domain_inference.artifacts import ModelArtifacts, load_artifacts
from domain_inference.modelbuild.builder import build_models
from domain_inference.modelbuild.config import ModelBuildSettings
from domain_inference.modelbuild.manifest import input_hashes, input_key, is_up_to_date
from domain_inference.modelbuild.sources import locate_sources

REPO_ARTIFACTS = Path(__file__).resolve().parents[2] / ".agentplane" / "models"


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of up-to-date artifacts built from the installed inputs."""
    key = input_key(input_hashes(locate_sources(), ModelBuildSettings().to_dict()))
    if is_up_to_date(REPO_ARTIFACTS, key) is not None:
        return REPO_ARTIFACTS
    out_dir = tmp_path_factory.mktemp("artifacts") / "models"
    result = build_models(out_dir)
    assert result.built
    return out_dir


@pytest.fixture(scope="session")
def artifacts(artifacts_dir: Path) -> ModelArtifacts:
    """The loaded artifacts, hashes verified."""
    return load_artifacts(artifacts_dir, verify_hashes=True)

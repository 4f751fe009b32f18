"""Suite-wide pytest configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain_inference.artifacts import ModelArtifacts, load_artifacts
from tests.support.models import models_dir
from tests.support.platform import Platform, start_platform, stop_platform_process

# Nothing may download models or data at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-screenshots`: the review console's browser tests write README's screenshots into docs/."""
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="write the review console's screenshots into docs/ (default: a temporary directory)",
    )


# --- The reference models ---------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Up-to-date model artifacts: `<repo>/.agentplane/models` when current, else one build into a temp dir."""
    return models_dir(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="session")
def artifacts(artifacts_dir: Path) -> ModelArtifacts:
    """The loaded artifacts, hashes verified."""
    return load_artifacts(artifacts_dir, verify_hashes=True)


# --- The whole platform, started by `agentplane up` (end-to-end tests) -----------------

# Thresholds that let the fake LLM's answers (mean token probability ~0.78) through for
# "general" tasks; other types keep the default 0.85. High-stakes types as in production.
E2E_POLICY = """
[controller]
review_sweep_interval_s = 1

[controller.downstream]
timeout_s = 5
[controller.downstream.retry]
max_attempts = 1
[controller.downstream.breaker]
cool_down_s = 1

[controller.policy.default.task_types.general]
threshold = 0.7
[controller.policy.default.task_types.realtime_answer]
threshold = 0.7
[controller.policy.default.task_types.payment_approval]
route = "LLM"
high_stakes = true
[controller.policy.default.task_types.short_lived]
route = "DOMAIN"
threshold = 1.0
review_ttl_s = 1
"""


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[Platform]:
    """Triton, the four services, a fake LLM and a page site, supervised by `agentplane up`."""
    scratch = tmp_path_factory.mktemp("platform")
    running = start_platform(scratch / "data", artifacts_dir, extra_config=E2E_POLICY)
    try:
        yield running
    finally:
        code = stop_platform_process(running.process)
        assert code == 0, f"agentplane up exited with {code}; logs in {running.data_dir / 'logs'}"

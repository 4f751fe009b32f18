"""Settings: defaults run locally, env overrides apply, inconsistent batch limits are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentplane.settings import SettingsError, load_settings
from domain_inference.config import DomainInferenceSettings


def test_defaults_point_at_loopback_triton_and_data_dir() -> None:
    settings = load_settings(DomainInferenceSettings, "domain_inference", env={})
    assert settings.triton_grpc_address == "127.0.0.1:18001"
    assert (settings.triton.http_port, settings.triton.metrics_port) == (18000, 18002)
    assert settings.resolved_models_dir == Path(".agentplane/models")
    assert settings.resolved_repository_dir == Path(".agentplane/triton/repository")


def test_env_overrides_nested_fields() -> None:
    env = {
        "AGENTPLANE_DOMAIN_INFERENCE__TRITON__REPOSITORY__DYNAMIC_BATCHING": "false",
        "AGENTPLANE_DOMAIN_INFERENCE__TRITON__REPOSITORY__ENCODER__PREFERRED_BATCH_SIZES": "[8, 16]",
        "AGENTPLANE_DOMAIN_INFERENCE__TRITON_CLIENT__ADDRESS": "127.0.0.1:9",
    }
    settings = load_settings(DomainInferenceSettings, "domain_inference", env=env)
    assert settings.triton.repository.dynamic_batching is False
    encoder = settings.triton.repository.encoder
    assert encoder.preferred_batch_sizes == (8, 16)
    assert (encoder.instances, encoder.threads) == (2, 1), "a partial override keeps the encoder's own defaults"
    assert settings.triton_grpc_address == "127.0.0.1:9"


def test_request_limit_beyond_triton_batch_is_refused() -> None:
    with pytest.raises(SettingsError, match="max_texts"):
        load_settings(DomainInferenceSettings, "domain_inference", env={}, overrides={"requests": {"max_texts": 65}})


def test_preferred_batch_sizes_must_fit_max_batch_size() -> None:
    overrides = {"triton": {"repository": {"head": {"max_batch_size": 64, "preferred_batch_sizes": [128]}}}}
    with pytest.raises(SettingsError, match="preferred_batch_sizes"):
        load_settings(DomainInferenceSettings, "domain_inference", env={}, overrides=overrides)

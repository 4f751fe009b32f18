"""Gateway settings: the offline default catalogue and catalogue validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentplane.settings import SettingsError
from gateway.config import GatewaySettings
from tests.support.settings import test_settings


def test_default_catalogue_is_the_embedded_model(tmp_path: Path) -> None:
    settings = test_settings(GatewaySettings, "gateway", tmp_path)
    general = settings.models["general"].deployments[0]
    assert general.base_url == "http://127.0.0.1:8471/v1" and general.residency == "on_prem"
    assert general.input_price_per_1k == 0 and settings.models["general"].system_prompt
    assert settings.models["embed"].embeddings
    assert settings.http.port == 8080 and settings.usage.backend == "sqlite"


def _dep(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "model": "m", "base_url": "http://127.0.0.1:1/v1", **extra}


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({"a": {"deployments": [_dep("x")], "fallbacks": ["nope"]}}, "unknown alias 'nope'"),
        ({"a": {"deployments": [_dep("x")]}, "b": {"deployments": [_dep("x")]}}, "already used by alias 'a'"),
        ({"a": {"deployments": [_dep("x", provider="anthropic")], "embeddings": True}}, "cannot serve embeddings"),
        ({"a": {"deployments": []}}, "models.a.deployments"),
        ({"a": {"deployments": [_dep("x", residency="moon")]}}, "residency"),
    ],
)
def test_bad_catalogues_are_refused_with_the_field_named(
    tmp_path: Path, models: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError) as err:
        test_settings(GatewaySettings, "gateway", tmp_path, models=models)
    assert message in str(err.value)


def test_catalogue_from_environment_json(tmp_path: Path) -> None:
    from agentplane.settings import load_settings

    env = {
        "AGENTPLANE_GATEWAY__MODELS": '{"fast": {"deployments": [{"name": "f", "model": "m", "base_url": "http://127.0.0.1:9/v1"}]}}'
    }
    settings = load_settings(GatewaySettings, "gateway", env=env)
    assert list(settings.models) == ["fast"]

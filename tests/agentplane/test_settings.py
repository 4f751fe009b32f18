"""Settings: TOML, environment, precedence and clear validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentplane.settings import ServiceSettings, SettingsError, load_settings


def test_defaults_need_no_file_and_no_environment():
    settings = load_settings(ServiceSettings, "gateway", env={})
    assert settings.server.host == "127.0.0.1"
    assert settings.auth.enabled


def test_env_beats_toml_and_service_tables_beat_shared_ones(tmp_path: Path):
    config = tmp_path / "agentplane.toml"
    config.write_text(
        'data_dir = "/srv/ap"\n[log]\nlevel = "warning"\n[gateway.server]\nport = 7000\n'
        '[gateway.log]\nlevel = "error"\n[realtime.server]\nport = 7001\n'
    )
    env = {"AGENTPLANE_GATEWAY__SERVER__PORT": "7100", "AGENTPLANE_REALTIME__SERVER__PORT": "9"}
    settings = load_settings(ServiceSettings, "gateway", config_file=config, env=env)
    assert settings.server.port == 7100
    assert settings.log.level == "error"
    assert settings.data_dir == Path("/srv/ap")
    via_env = load_settings(ServiceSettings, "gateway", env={"AGENTPLANE_CONFIG": str(config)})
    assert via_env.server.port == 7000


def test_json_values_in_env_and_overrides_win():
    env = {"AGENTPLANE_ENDPOINTS__GATEWAY": '["127.0.0.1:1", "127.0.0.1:2"]'}
    settings = load_settings(ServiceSettings, "controller", env=env, overrides={"server": {"port": 5}})
    assert settings.endpoints.gateway == ("127.0.0.1:1", "127.0.0.1:2")
    assert settings.server.port == 5


def test_invalid_values_name_the_field_and_the_value():
    with pytest.raises(SettingsError) as info:
        load_settings(ServiceSettings, "gateway", env={"AGENTPLANE_GATEWAY__SERVER__PORT": "70000"})
    assert "gateway.server.port" in str(info.value) and "70000" in str(info.value)
    with pytest.raises(SettingsError) as info:
        load_settings(ServiceSettings, "gateway", env={}, overrides={"server": {"prot": 1}})
    assert "gateway.server.prot" in str(info.value)


def test_missing_or_broken_config_file_is_reported(tmp_path: Path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(ServiceSettings, "gateway", config_file=tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[gateway\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(ServiceSettings, "gateway", config_file=bad, env={})

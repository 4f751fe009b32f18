"""API keys are stored hashed and map to tenants and roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentplane.auth import ApiKeyStore, generate_key, hash_key, load_key_file
from agentplane.errors import PermissionDeniedError, UnauthenticatedError
from agentplane.settings import ApiKeySettings, AuthSettings, SettingsError


def test_key_file_round_trip_and_lookup(tmp_path: Path):
    key = generate_key()
    (tmp_path / "keys.toml").write_text(
        f'[[keys]]\nname = "ops"\ntenant = "acme"\nsha256 = "{hash_key(key)}"\nroles = ["reviewer"]\n'
    )
    store = ApiKeyStore.from_settings(AuthSettings(), tmp_path)
    principal = store.authenticate(key)
    assert (principal.name, principal.tenant, principal.has_role("reviewer")) == ("ops", "acme", True)
    assert key not in (tmp_path / "keys.toml").read_text()
    with pytest.raises(UnauthenticatedError):
        store.authenticate(key + "x")


def test_impersonation_needs_the_service_role():
    store = ApiKeyStore(
        [
            ApiKeySettings(name="svc", tenant="internal", sha256=hash_key("s"), roles=("service",)),
            ApiKeySettings(name="u", tenant="acme", sha256=hash_key("u")),
        ]
    )
    assert store.authenticate("s", act_for_tenant="acme").tenant == "acme"
    assert store.authenticate("u", act_for_tenant="acme").tenant == "acme"
    with pytest.raises(PermissionDeniedError):
        store.authenticate("u", act_for_tenant="globex")


def test_malformed_key_file_is_a_settings_error(tmp_path: Path):
    path = tmp_path / "keys.toml"
    path.write_text('[[keys]]\nname = "x"\ntenant = "t"\nsha256 = "not-hex"\n')
    with pytest.raises(SettingsError, match=r"keys\.toml"):
        load_key_file(path)

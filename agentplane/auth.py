"""API keys: stored as SHA-256 hashes, each mapped to a tenant and roles.

Layer: shared core, domain level (no grpc, no HTTP). Every front admits callers through
`agentplane.admission`, which looks keys up here (`ApiKeyStore.authenticate`).
"""

from __future__ import annotations

import hashlib
import secrets
import tomllib
from collections.abc import Iterable
from pathlib import Path

from agentplane.errors import PermissionDeniedError, UnauthenticatedError
from agentplane.request_context import Principal
from agentplane.settings import ApiKeySettings, AuthSettings, SettingsError

__all__ = [
    "ANONYMOUS",
    "SERVICE_ROLE",
    "ApiKeyStore",
    "generate_key",
    "hash_key",
    "load_key_file",
]

# A key with this role may act for another tenant (x-agentplane-tenant metadata):
# the controller calls the gateway on behalf of the task's tenant.
SERVICE_ROLE = "service"
ANONYMOUS = Principal(name="anonymous", tenant="default", roles=frozenset({"admin", "reviewer"}))
_MAX_CACHED_KEYS = 4096


def hash_key(raw_key: str) -> str:
    """Hex SHA-256 of a key, as stored in settings."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_key(prefix: str = "ap") -> str:
    """A new random key (256 bits), e.g. `ap_3b1f...`."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def load_key_file(path: Path) -> tuple[ApiKeySettings, ...]:
    """Read `[[keys]]` tables (name, tenant, sha256, roles) from a TOML file.

    Raises:
        SettingsError: The file is malformed.
    """
    try:
        doc = tomllib.loads(path.read_text())
        return tuple(ApiKeySettings.model_validate(k) for k in doc.get("keys", []))
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise SettingsError(f"key file {path}: {exc}") from exc


class ApiKeyStore:
    """Looks up principals by the hash of the presented key.

    Args:
        keys: The known keys.
        enabled: When False, every caller is the anonymous admin of tenant `default`.
    """

    def __init__(self, keys: Iterable[ApiKeySettings], *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._by_hash: dict[str, Principal] = {
            k.sha256: Principal(name=k.name, tenant=k.tenant, roles=frozenset(k.roles)) for k in keys
        }
        # Raw key -> principal of keys seen recently: hash each key once, not on every call.
        self._recent: dict[str, Principal] = {}

    @classmethod
    def from_settings(cls, settings: AuthSettings, data_dir: Path) -> ApiKeyStore:
        """Build from inline keys plus the key file (default `<data_dir>/keys.toml`)."""
        keys = list(settings.keys)
        key_file = settings.keys_file or data_dir / "keys.toml"
        if settings.keys_file is not None or key_file.exists():
            keys += load_key_file(key_file)
        return cls(keys, enabled=settings.enabled)

    def __len__(self) -> int:
        return len(self._by_hash)

    def authenticate(self, raw_key: str | None, act_for_tenant: str | None = None) -> Principal:
        """Return the principal for a presented key.

        Args:
            raw_key: The key as sent by the caller (None when absent).
            act_for_tenant: Tenant a `service` key acts for; refused for other keys.

        Raises:
            UnauthenticatedError: The key is missing or unknown.
            PermissionDeniedError: A non-service key asked to act for another tenant.
        """
        if not self.enabled:
            return ANONYMOUS
        if not raw_key:
            raise UnauthenticatedError("missing API key: send it in the x-api-key header", reason="API_KEY_MISSING")
        principal = self._recent.get(raw_key)
        if principal is None:
            principal = self._by_hash.get(hash_key(raw_key))
            if principal is None:
                raise UnauthenticatedError("invalid API key", reason="API_KEY_INVALID")
            if len(self._recent) >= _MAX_CACHED_KEYS:
                self._recent.clear()
            self._recent[raw_key] = principal
        if act_for_tenant and act_for_tenant != principal.tenant:
            if SERVICE_ROLE not in principal.roles:
                raise PermissionDeniedError(
                    f"key {principal.name!r} may not act for tenant {act_for_tenant!r}",
                    reason="TENANT_IMPERSONATION_DENIED",
                )
            return Principal(name=principal.name, tenant=act_for_tenant, roles=principal.roles)
        return principal

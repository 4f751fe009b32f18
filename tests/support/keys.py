"""API keys used by tests: raw keys are derived from the key name, stored hashed in settings."""

from __future__ import annotations

from typing import Any

from agentplane.auth import hash_key

# name -> (tenant, roles)
TEST_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "acme-user": ("acme", ()),
    "acme-reviewer": ("acme", ("reviewer",)),
    "globex-user": ("globex", ()),
    "globex-reviewer": ("globex", ("reviewer",)),
    "admin": ("acme", ("admin", "reviewer")),
    "service": ("internal", ("service",)),
}


def raw_key(name: str) -> str:
    """The raw key of test key `name`."""
    return f"test-key-{name}"


def auth_overrides() -> dict[str, Any]:
    """Settings overrides that install every test key (hashed)."""
    return {
        "auth": {
            "keys": [
                {"name": name, "tenant": tenant, "sha256": hash_key(raw_key(name)), "roles": list(roles)}
                for name, (tenant, roles) in TEST_KEYS.items()
            ]
        }
    }

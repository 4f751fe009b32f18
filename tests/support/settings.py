"""Build service settings for tests: test keys, ephemeral ports, a private data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from agentplane.settings import ServiceSettings, load_settings
from tests.support.keys import auth_overrides

S = TypeVar("S", bound=ServiceSettings)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def test_settings(cls: type[S], section: str, data_dir: Path, **overrides: Any) -> S:
    """Settings of `cls` with test keys, port 0, `data_dir`, no environment, plus `overrides`."""
    base = _merge(auth_overrides(), {"data_dir": str(data_dir), "server": {"port": 0, "grace_period_s": 5}})
    return load_settings(cls, section, env={}, overrides=_merge(base, overrides))


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test

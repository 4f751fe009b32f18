"""Settings of the realtime service (TOML table [realtime], env AGENTPLANE_REALTIME__...)."""

from __future__ import annotations

from agentplane.settings import ServiceSettings

__all__ = ["RealtimeSettings"]


class RealtimeSettings(ServiceSettings):
    """Settings of the realtime service."""

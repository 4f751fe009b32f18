"""Settings of the gateway service (TOML table [gateway], env AGENTPLANE_GATEWAY__...)."""

from __future__ import annotations

from agentplane.settings import ServiceSettings

__all__ = ["GatewaySettings"]


class GatewaySettings(ServiceSettings):
    """Settings of the gateway service."""

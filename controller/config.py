"""Settings of the controller service (TOML table [controller], env AGENTPLANE_CONTROLLER__...)."""

from __future__ import annotations

from agentplane.settings import ServiceSettings

__all__ = ["ControllerSettings"]


class ControllerSettings(ServiceSettings):
    """Settings of the controller service."""

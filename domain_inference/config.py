"""Settings of the domain_inference service (TOML table [domain_inference], env AGENTPLANE_DOMAIN_INFERENCE__...)."""

from __future__ import annotations

from agentplane.settings import ServiceSettings

__all__ = ["DomainInferenceSettings"]


class DomainInferenceSettings(ServiceSettings):
    """Settings of the domain_inference service."""

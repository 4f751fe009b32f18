"""Volatility classes: how fast data behind a URL changes, and what that implies.

Layer: domain. A volatility sets both the response-cache TTL of a fetch and the
refresh period of a watched source (prices: minutes; policies: days).
"""

from __future__ import annotations

import enum

from realtime.config import VolatilitySettings

__all__ = ["Volatility", "VolatilityPolicy"]


class Volatility(enum.Enum):
    """Change rate of a source, from market quotes (seconds) to archives (static)."""

    SECONDS = "seconds"
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    STATIC = "static"


class VolatilityPolicy:
    """Cache TTLs and refresh periods per volatility, from settings.

    Args:
        settings: The [realtime.volatility] block.
    """

    def __init__(self, settings: VolatilitySettings) -> None:
        self.default = Volatility(settings.default)
        self._ttl = {v: float(settings.ttl_s.get(v.value, 900.0)) for v in Volatility}
        self._refresh = {v: float(settings.refresh_s.get(v.value, 3600.0)) for v in Volatility}

    def resolve(self, volatility: Volatility | None) -> Volatility:
        """The volatility to use when a request may leave it unspecified."""
        return volatility or self.default

    def ttl_s(self, volatility: Volatility | None) -> float:
        """Seconds a cached response of this class counts as fresh."""
        return self._ttl[self.resolve(volatility)]

    def refresh_s(self, volatility: Volatility | None) -> float:
        """Refresh period of a watched source of this class."""
        return self._refresh[self.resolve(volatility)]

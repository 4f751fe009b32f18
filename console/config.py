"""Settings of the review console (TOML table [console], env AGENTPLANE_CONSOLE__...).

The console serves HTTP on `server.host:server.port` (`agentplane up` sets them from
`endpoints.console`); it reaches the controller at `endpoints.controller`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from agentplane.settings import ServiceSettings

__all__ = ["ConsoleSettings"]


class ConsoleSettings(ServiceSettings):
    """Settings of the review console."""

    session_ttl_s: float = Field(8 * 3600.0, gt=0)
    """A session ends this long after sign-in, whatever happens."""
    session_idle_s: float = Field(30 * 60.0, gt=0)
    """A session ends after this long without a request."""
    max_sessions: int = Field(10_000, gt=0)
    """Sessions held at once; the oldest is ended to make room."""
    signin_per_address_per_min: float = Field(10.0, gt=0)
    """Sign-in attempts per minute from one client address (token bucket refill)."""
    signin_burst: int = Field(5, gt=0)
    """Sign-in attempts one address may make at once after a quiet period."""
    signin_total_per_min: float = Field(120.0, gt=0)
    """Sign-in attempts per minute from all addresses together."""
    tls_cert_file: Path | None = None
    """PEM certificate: serve HTTPS (with tls_key_file)."""
    tls_key_file: Path | None = None
    """PEM private key of tls_cert_file."""
    secure_cookies: bool | None = None
    """Mark cookies Secure; None = when TLS is on (set True behind a TLS-terminating proxy)."""
    poll_interval_s: float = Field(2.0, gt=0)
    """How often the console asks the controller for a tenant's queue while a page listens for updates."""
    sse_heartbeat_s: float = Field(15.0, gt=0)
    """A comment line on idle event streams this often (keeps proxies from closing them)."""
    max_queue_reviews: int = Field(2000, gt=0)
    """Pending reviews read per queue page (the newest first)."""
    call_timeout_s: float = Field(10.0, gt=0)
    """Deadline of each call to the controller."""
    max_form_bytes: int = Field(256 * 1024, gt=0)
    """Larger form posts are refused with 413."""

    @model_validator(mode="after")
    def _tls_pair(self) -> ConsoleSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self

    @property
    def tls(self) -> bool:
        """Whether the console serves HTTPS itself."""
        return self.tls_cert_file is not None

    @property
    def cookies_secure(self) -> bool:
        """Whether cookies carry the Secure attribute."""
        return self.tls if self.secure_cookies is None else self.secure_cookies

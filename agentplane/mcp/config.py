"""Settings of the MCP adapters (TOML table [mcp], env AGENTPLANE_MCP__...).

Layer: shared core, configuration. One `McpSettings` serves every `agentplane mcp
<service>` process: the shared blocks (`auth`, `endpoints`, `data_dir`) say which keys
are valid and where each service listens; `http` says how the streamable-HTTP transport
binds and which Host/Origin headers it accepts.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from agentplane.settings import FrozenModel, ServiceSettings, TlsListenerSettings

__all__ = ["McpHttpSettings", "McpSettings"]


def _default_ports() -> dict[str, int]:
    return {"controller": 8761, "gateway": 8762, "domain_inference": 8763, "realtime": 8764}


class McpHttpSettings(FrozenModel):
    """The streamable-HTTP transport (bearer API key, Host/Origin validation)."""

    host: str = "127.0.0.1"
    """Address to bind; loopback by default (Host/Origin checks assume it)."""
    ports: dict[str, int] = Field(default_factory=_default_ports)
    """Port per service when `--port` is not given."""
    path: str = Field("/mcp", pattern=r"^/")
    """URL path of the MCP endpoint."""
    stateless: bool = False
    """Serve every POST on its own (no Mcp-Session-Id); 2026-07-28 clients are always served so."""
    json_response: bool = False
    """Answer with plain JSON instead of an SSE stream (progress notifications are then dropped)."""
    allowed_hosts: tuple[str, ...] = ("127.0.0.1:*", "localhost:*", "[::1]:*")
    """Accepted Host headers ("name:*" = any port); others get 421 (DNS-rebinding protection)."""
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
    """Accepted Origin headers (absent = same origin); others get 403."""
    max_request_bytes: int = Field(4 * 1024 * 1024, gt=0)
    """Larger request bodies are refused with 413."""
    session_idle_timeout_s: float = Field(1800.0, gt=0)
    """Stateful sessions idle this long are closed."""
    max_sessions: int = Field(1000, gt=0)
    """Stateful sessions open at once; more are refused."""
    tls: TlsListenerSettings = TlsListenerSettings()
    """HTTPS (and client certificates with client_ca_file); plaintext when tls.cert_file is unset."""


class McpSettings(ServiceSettings):
    """Settings of an `agentplane mcp <service>` process."""

    http: McpHttpSettings = McpHttpSettings()
    api_key: SecretStr | None = None
    """stdio only: the key every call is made with (else `--api-key` or `--as`). HTTP callers bring theirs."""
    call_timeout_s: float = Field(60.0, gt=0)
    """Deadline of the one gRPC call each tool makes."""
    use_uvloop: bool = True
    """Run `agentplane mcp` on uvloop (faster I/O); off = the standard asyncio loop."""

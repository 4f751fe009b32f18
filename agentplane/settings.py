"""Typed, validated settings from an optional TOML file and environment variables.

Layer: shared core. Each service declares one frozen settings class deriving from
`ServiceSettings`; `load_settings` reads it once at start and the object is passed
down. Nothing else in the code base reads the environment.

Precedence (highest first): explicit overrides (tests, CLI flags), environment
variables, the TOML file, defaults. The defaults run with no external service.

TOML layout (`AGENTPLANE_CONFIG=/path/agentplane.toml`)::

    data_dir = ".agentplane"          # shared keys apply to every service
    [auth]
    keys_file = ".agentplane/keys.toml"
    [limits.default]
    rate_per_s = 200
    [gateway.server]                  # one table per service overrides the shared ones
    port = 50052

Environment: `AGENTPLANE_<FIELD>` for shared fields and `AGENTPLANE_<SERVICE>__<FIELD>`
for one service, nested with `__`: `AGENTPLANE_GATEWAY__SERVER__PORT=50052`,
`AGENTPLANE_LOG__LEVEL=debug`. Values that start with `[` or `{` are parsed as JSON.
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from agentplane.resilience import BreakerSettings, RetryBudget, RetryPolicy

__all__ = [
    "ApiKeySettings",
    "AuthSettings",
    "CircuitBreakerSettings",
    "ClientSettings",
    "ClientTlsSettings",
    "EndpointSettings",
    "FrozenModel",
    "LimitSettings",
    "LogSettings",
    "MetricsEndpointSettings",
    "MetricsSettings",
    "RetrySettings",
    "ServerSettings",
    "ServerTlsSettings",
    "ServiceSettings",
    "SettingsError",
    "TenantLimitSettings",
    "TlsListenerSettings",
    "TracingSettings",
    "load_settings",
]

CONFIG_ENV = "AGENTPLANE_CONFIG"
ENV_PREFIX = "AGENTPLANE_"


class SettingsError(ValueError):
    """Settings could not be loaded; the message names every bad field."""


class FrozenModel(BaseModel):
    """Base of every settings block: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TlsListenerSettings(FrozenModel):
    """TLS of a listening socket (gRPC server, HTTP front, MCP HTTP): PEM files, off while cert_file is unset."""

    cert_file: Path | None = None
    """Certificate chain the server presents (PEM); set with key_file to serve TLS."""
    key_file: Path | None = None
    """Private key of cert_file (PEM)."""
    client_ca_file: Path | None = None
    """CA bundle (PEM) client certificates must chain to; set = mutual TLS: clients without one are refused."""
    refuse_plaintext_off_loopback: bool = False
    """Refuse to start without TLS on a non-loopback address (default: start and log a warning)."""

    @property
    def enabled(self) -> bool:
        """Whether this listener serves TLS."""
        return self.cert_file is not None

    @model_validator(mode="after")
    def _consistent(self) -> TlsListenerSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ValueError("client_ca_file (mutual TLS) needs cert_file and key_file")
        return self


class ServerTlsSettings(TlsListenerSettings):
    """TLS of a gRPC server, with the client identities allowed to call it."""

    allowed_client_identities: tuple[str, ...] = ()
    """Client certificate identities (DNS/URI SANs, else the CN) that may call; empty = any the CA signed."""

    @model_validator(mode="after")
    def _identities_need_mtls(self) -> ServerTlsSettings:
        if self.allowed_client_identities and self.client_ca_file is None:
            raise ValueError("allowed_client_identities needs client_ca_file (mutual TLS)")
        return self


class ServerSettings(FrozenModel):
    """How a gRPC server binds and protects itself."""

    host: str = "127.0.0.1"
    """Address to bind; loopback by default."""
    port: int = Field(0, ge=0, le=65535)
    """Port to bind; 0 picks a free one."""
    grace_period_s: float = Field(10.0, ge=0)
    """On SIGTERM, in-flight calls get this long to finish."""
    max_receive_message_bytes: int = Field(4 * 1024 * 1024, gt=0)
    """Larger requests are refused with RESOURCE_EXHAUSTED."""
    max_send_message_bytes: int = Field(16 * 1024 * 1024, gt=0)
    """Largest response the server will send."""
    max_concurrent_rpcs: int = Field(2048, gt=0)
    """Calls in flight beyond this are shed with RESOURCE_EXHAUSTED."""
    max_pending_calls: int = Field(50_000, gt=0)
    """Calls received but not yet picked up by the server's event loop. gRPC core cancels calls
    beyond its own backlog limits (random drops from 1,000, all from 3,000) with a bare CANCELLED
    before any handler runs; raised here so that bursts reach the handlers and overload is refused
    by our admission (RESOURCE_EXHAUSTED with retry information) instead."""
    keepalive_time_s: float = Field(30.0, gt=0)
    """Interval of server keepalive pings."""
    keepalive_timeout_s: float = Field(10.0, gt=0)
    """A connection that does not answer a ping within this is closed."""
    max_connection_idle_s: float = Field(600.0, gt=0)
    """Idle connections are closed after this."""
    reflection: bool = True
    """Offer gRPC server reflection (grpcurl, Postman)."""
    tls: ServerTlsSettings = ServerTlsSettings()
    """TLS and mutual TLS of this server (plaintext when tls.cert_file is unset)."""
    health_port: int | None = Field(None, ge=0, le=65535)
    """Also serve grpc.health.v1 alone, plaintext, on this port (Kubernetes gRPC probes speak no TLS); None = not."""


class RetrySettings(FrozenModel):
    """Retries of failed downstream calls (exponential backoff, full jitter, retry budget)."""

    max_attempts: int = Field(3, ge=1, le=10)
    """Attempts in all, the first included."""
    base_delay_s: float = Field(0.1, ge=0)
    """Upper bound of the first backoff (full jitter)."""
    max_delay_s: float = Field(2.0, ge=0)
    """Cap on one backoff."""
    max_retry_after_s: float = Field(10.0, ge=0)
    """A Retry-After longer than this is not waited for: the error (or a fallback) comes at once."""
    budget_ratio: float = Field(0.2, ge=0)
    """Retries allowed per request across the process (retry budget)."""
    budget_min_per_s: float = Field(10.0, ge=0)
    """Retries per second always allowed."""

    def policy(self) -> RetryPolicy:
        """The RetryPolicy these settings describe."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay_s=self.base_delay_s,
            max_delay_s=self.max_delay_s,
            max_retry_after_s=self.max_retry_after_s,
        )

    def budget(self, clock: Callable[[], float] = time.monotonic) -> RetryBudget:
        """A new RetryBudget with these settings (one per process and downstream)."""
        return RetryBudget(self.budget_ratio, self.budget_min_per_s, clock=clock)


class CircuitBreakerSettings(FrozenModel):
    """A circuit breaker per downstream (or per deployment)."""

    failure_threshold: int = Field(5, ge=1)
    """Consecutive failures that open it."""
    cool_down_s: float = Field(10.0, gt=0)
    """Time open before a half-open probe is let through."""
    half_open_max_calls: int = Field(1, ge=1)
    """Probes at once while half-open."""
    success_threshold: int = Field(1, ge=1)
    """Successful probes that close it."""

    def breaker_settings(self) -> BreakerSettings:
        """The resilience layer's BreakerSettings."""
        return BreakerSettings(
            self.failure_threshold, self.cool_down_s, self.half_open_max_calls, self.success_threshold
        )


class ApiKeySettings(FrozenModel):
    """One API key, stored as its SHA-256 (never the key itself)."""

    name: str = Field(min_length=1)
    """Key name, recorded as the actor in audit trails."""
    tenant: str = Field(min_length=1)
    """Tenant the key belongs to."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """Hex SHA-256 of the key."""
    roles: tuple[str, ...] = ()
    """e.g. "reviewer", "admin", "service" (may act for another tenant)."""


class AuthSettings(FrozenModel):
    """API-key authentication of incoming calls."""

    enabled: bool = True
    """Off only for local experiments: every call becomes tenant `default`."""
    keys: tuple[ApiKeySettings, ...] = ()
    """Keys given inline."""
    keys_file: Path | None = None
    """TOML file with `[[keys]]` tables; default `<data_dir>/keys.toml` when it exists."""


class TenantLimitSettings(FrozenModel):
    """Rate and concurrency limits of one tenant."""

    rate_per_s: float = Field(500.0, gt=0)
    """Sustained calls per second (token bucket refill rate)."""
    burst: int = Field(1000, gt=0)
    """Bucket size: calls allowed at once after a quiet period."""
    max_concurrent: int = Field(256, gt=0)
    """Calls of this tenant in flight at once; more are refused at once."""


class LimitSettings(FrozenModel):
    """Per-tenant limits; tenants not listed get `default`."""

    default: TenantLimitSettings = TenantLimitSettings()
    tenants: dict[str, TenantLimitSettings] = {}


class LogSettings(FrozenModel):
    """Logging output."""

    level: str = "info"
    json_format: bool = True

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error", "critical"}:
            raise ValueError("must be one of debug, info, warning, error, critical")
        return value.lower()


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class MetricsSettings(FrozenModel):
    """The service's Prometheus `/metrics` endpoint (its own port, apart from the gRPC port)."""

    enabled: bool = True
    """Record metrics and serve them; off: no endpoint and no per-call recording."""
    host: str = "127.0.0.1"
    """Address to bind; beyond loopback only with `require_key` or TLS."""
    port: int = Field(0, ge=0, le=65535)
    """Port to bind; 0 picks a free one (`agentplane up` sets it from `endpoints.metrics`)."""
    require_key: bool = False
    """Scrapers must send an API key (`Authorization: Bearer` or x-api-key) of a key with the
    `metrics` or `admin` role."""
    tls_cert_file: Path | None = None
    """PEM certificate chain: serve HTTPS."""
    tls_key_file: Path | None = None
    """PEM private key of `tls_cert_file`."""
    max_tenant_labels: int = Field(50, ge=0)
    """Distinct tenants that get their own label value; the rest are counted as tenant="_other"."""

    @model_validator(mode="after")
    def _protected_off_loopback(self) -> MetricsSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if self.enabled and self.host not in _LOOPBACK_HOSTS and not self.require_key and self.tls_cert_file is None:
            raise ValueError(
                f"serving metrics on {self.host} (beyond loopback) needs require_key = true or TLS "
                "(tls_cert_file and tls_key_file)"
            )
        return self


class TracingSettings(FrozenModel):
    """OpenTelemetry traces, exported by OTLP. Off by default; nothing is traced or propagated when off."""

    enabled: bool = False
    """Create spans for every gRPC call (server and client) and upstream HTTP call, W3C trace context."""
    otlp_endpoint: str = ""
    """OTLP/gRPC collector that receives the spans, e.g. "http://127.0.0.1:4317"; "" = none (spans are
    still made and propagated, so logs and audit records carry trace ids that other services share)."""
    otlp_insecure: bool = True
    """Plain-text gRPC to the collector (a local agent); false: TLS."""
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0)
    """Share of new traces sampled (a caller's sampled flag is always honoured)."""
    export_timeout_s: float = Field(10.0, gt=0)
    """Deadline of one batch export."""


class ClientTlsSettings(FrozenModel):
    """TLS of outgoing gRPC calls to agentplane services."""

    enabled: bool = False
    """Dial services over TLS (their certificates checked against ca_file)."""
    ca_file: Path | None = None
    """CA bundle (PEM) server certificates must chain to; default: the system's roots."""
    cert_file: Path | None = None
    """This client's certificate chain (PEM), presented for mutual TLS."""
    key_file: Path | None = None
    """Private key of cert_file (PEM)."""
    server_name: str = ""
    """Name expected in the server's certificate instead of the dialled host; empty = the host."""

    @model_validator(mode="after")
    def _consistent(self) -> ClientTlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if not self.enabled and (self.ca_file or self.cert_file or self.server_name):
            raise ValueError("TLS files are set but enabled is false")
        return self


class ClientSettings(FrozenModel):
    """How this service calls other agentplane services."""

    api_key: SecretStr | None = None
    """Key sent as x-api-key (a key with the `service` role acts for the caller's tenant)."""
    api_key_file: Path | None = None
    """File holding the key (first line), used when api_key is not set."""
    timeout_s: float = Field(30.0, gt=0)
    """Default deadline of outgoing calls; never beyond the incoming call's deadline."""
    tls: ClientTlsSettings = ClientTlsSettings()
    """TLS (and this client's certificate) for calls to other services."""


class MetricsEndpointSettings(FrozenModel):
    """host:port of each service's /metrics endpoint (every replica)."""

    controller: tuple[str, ...] = ("127.0.0.1:9461",)
    gateway: tuple[str, ...] = ("127.0.0.1:9462",)
    domain_inference: tuple[str, ...] = ("127.0.0.1:9463",)
    realtime: tuple[str, ...] = ("127.0.0.1:9464",)


class EndpointSettings(FrozenModel):
    """Where each agentplane service listens (host:port of every replica)."""

    controller: tuple[str, ...] = ("127.0.0.1:50051",)
    gateway: tuple[str, ...] = ("127.0.0.1:50052",)
    domain_inference: tuple[str, ...] = ("127.0.0.1:50053",)
    realtime: tuple[str, ...] = ("127.0.0.1:50054",)
    console: tuple[str, ...] = ("127.0.0.1:8480",)
    """The review console's HTTP address (a web page for people, not a gRPC service)."""
    metrics: MetricsEndpointSettings = MetricsEndpointSettings()
    """Where each service serves /metrics (`agentplane up` binds them there; `agentplane top` reads them)."""


class ServiceSettings(FrozenModel):
    """Fields every service has. Services subclass it and add their own section."""

    data_dir: Path = Path(".agentplane")
    """Where state, credentials and built models live."""
    server: ServerSettings = ServerSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    log: LogSettings = LogSettings()
    client: ClientSettings = ClientSettings()
    endpoints: EndpointSettings = EndpointSettings()
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    use_uvloop: bool = False
    """Run the process's event loop on uvloop (services that benefit turn it on by default)."""


S = TypeVar("S", bound=ServiceSettings)

_SHARED_FIELDS = frozenset(ServiceSettings.model_fields)


def _parse_env_value(raw: str) -> Any:
    stripped = raw.strip()
    if stripped[:1] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            nxt = target[key] = {}
        target = nxt
    target[path[-1]] = value


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _from_env(section: str, env: Mapping[str, str]) -> dict[str, Any]:
    shared: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if path[0] == section and len(path) > 1:
            _set_path(own, path[1:], _parse_env_value(raw))
        elif path[0] in _SHARED_FIELDS:
            _set_path(shared, path, _parse_env_value(raw))
    return _merge(shared, own)


def _from_toml(section: str, path: Path) -> dict[str, Any]:
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise SettingsError(f"config file {path} does not exist (set by {CONFIG_ENV})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc
    shared = {k: v for k, v in doc.items() if k in _SHARED_FIELDS}
    own = doc.get(section, {})
    if not isinstance(own, dict):
        raise SettingsError(f"config file {path}: [{section}] must be a table")
    return _merge(shared, own)


def _describe(exc: ValidationError, section: str) -> str:
    lines = [f"invalid {section} settings:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  {section}.{where}: {err['msg']}{shown}")
    return "\n".join(lines)


def load_settings(
    cls: type[S],
    section: str,
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> S:
    """Load and validate one service's settings.

    Args:
        cls: The service's settings class.
        section: The service's table name in TOML and its env infix (e.g. "gateway").
        config_file: TOML file; default: the path in AGENTPLANE_CONFIG, if set.
        env: Environment to read; default: os.environ.
        overrides: Highest-precedence values (nested dicts), e.g. from tests.

    Returns:
        The frozen settings object.

    Raises:
        SettingsError: The file is missing or malformed, or a value is invalid;
            the message names each bad field.
    """
    environ = os.environ if env is None else env
    data: dict[str, Any] = {}
    path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if path is not None:
        data = _from_toml(section, path)
    data = _merge(data, _from_env(section, environ))
    data = _merge(data, overrides or {})
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, section)) from None

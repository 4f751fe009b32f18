"""The platform's process table and its embedded-default credentials.

Layer: shared core. Services appear here only as module names to run with
`python -m` (configuration, not imports), so the core still imports no service.
`agentplane up` turns `PlatformSettings` into supervised processes.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from agentplane.auth import SERVICE_ROLE, generate_key, hash_key
from agentplane.errors import UnauthenticatedError
from agentplane.settings import FrozenModel, ServiceSettings
from agentplane.supervisor import HealthProbe, ProcessSpec

__all__ = [
    "SAMPLE_SITE",
    "Credentials",
    "PlatformSettings",
    "ProcessSettings",
    "ensure_credentials",
    "load_credentials",
    "named_key",
    "process_specs",
]


SAMPLE_SITE = "samples"
"""The process name of the sample page site (disable with `[up.processes.samples] enabled = false`)."""


class ProcessSettings(FrozenModel):
    """One process of the platform."""

    module: str
    """Python module run with `python -m`."""
    args: tuple[str, ...] = ()
    enabled: bool = True
    health: str = Field("grpc", pattern="^(grpc|http|none)$")
    """Readiness probe kind."""
    grpc_service: str = ""
    """Service name for the gRPC health check."""
    health_url: str = ""
    """URL for the HTTP probe; default `http://<endpoint address>/healthz` for a process with an endpoint."""
    endpoint: str = ""
    """Which `endpoints` entry gives the address it binds ("" for processes that have their own settings)."""
    depends_on: tuple[str, ...] = ()
    start_timeout_s: float = 120.0
    env: dict[str, str] = {}


def _default_processes() -> dict[str, ProcessSettings]:
    return {
        "llm": ProcessSettings(
            module="gateway.embedded_llm",
            health="http",
            health_url="http://127.0.0.1:8471/v1/models",
        ),
        "triton": ProcessSettings(
            module="domain_inference.triton_launcher",
            health="http",
            health_url="http://127.0.0.1:18000/v2/health/ready",
            start_timeout_s=180.0,
        ),
        "domain_inference": ProcessSettings(
            module="domain_inference.server",
            grpc_service="agentplane.v1.DomainInference",
            endpoint="domain_inference",
            depends_on=("triton",),
        ),
        "gateway": ProcessSettings(
            module="gateway.server",
            grpc_service="agentplane.v1.LLMGateway",
            endpoint="gateway",
            depends_on=("llm",),
        ),
        "realtime": ProcessSettings(
            module="realtime.server",
            grpc_service="agentplane.v1.RealtimeData",
            endpoint="realtime",
        ),
        "controller": ProcessSettings(
            module="controller.server",
            grpc_service="agentplane.v1.TaskController",
            endpoint="controller",
            depends_on=("gateway", "domain_inference", "realtime"),
        ),
        "console": ProcessSettings(
            module="console.server",
            health="http",
            endpoint="console",
            depends_on=("controller",),
        ),
        SAMPLE_SITE: ProcessSettings(module="agentplane.sample_site", health="http"),
    }


class PlatformSettings(ServiceSettings):
    """Settings of `agentplane up` (TOML table [up], env AGENTPLANE_UP__...)."""

    processes: dict[str, ProcessSettings] = Field(default_factory=_default_processes)
    """The process table; fields given in config override the default process of that name."""
    stop_grace_s: float = 15.0
    """Per process: SIGTERM, then SIGKILL (of its process group) after this."""
    sample_site_port: int = Field(8090, gt=0, le=65535)
    """The sample page site's port on 127.0.0.1; the realtime SSRF guard is told to allow exactly it."""

    @model_validator(mode="before")
    @classmethod
    def _merge_processes(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("processes"), dict):
            merged = {name: proc.model_dump() for name, proc in _default_processes().items()}
            for name, given in data["processes"].items():
                merged[name] = {**merged.get(name, {}), **given} if isinstance(given, dict) else given
            data = {**data, "processes": merged}
        return data


@dataclass(frozen=True)
class Credentials:
    """Raw keys written for the embedded default (never used in production)."""

    keys: dict[str, str]
    """Key name -> raw key."""
    tenants: dict[str, str]
    """Key name -> tenant."""

    def key_for(self, name: str) -> str:
        """The raw key called `name`."""
        return self.keys[name]


_DEV_KEYS = (
    # name, tenant, roles
    ("acme-user", "acme", ()),
    ("acme-reviewer", "acme", ("reviewer",)),
    ("globex-user", "globex", ()),
    ("globex-reviewer", "globex", ("reviewer",)),
    ("admin", "acme", ("admin", "reviewer")),
    ("internal-service", "internal", (SERVICE_ROLE,)),
)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ensure_credentials(data_dir: Path) -> Credentials:
    """Create the embedded default's keys once: hashed in keys.toml, raw in credentials.toml (0600).

    Idempotent: existing files are kept.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    raw_path, hashed_path = data_dir / "credentials.toml", data_dir / "keys.toml"
    if raw_path.exists() and hashed_path.exists():
        return load_credentials(data_dir)
    raw = {name: generate_key() for name, _, _ in _DEV_KEYS}
    hashed_lines, raw_lines = [], ["# Raw API keys of the embedded default. Keep private.\n"]
    for name, tenant, roles in _DEV_KEYS:
        role_list = ", ".join(_toml_str(r) for r in roles)
        hashed_lines.append(
            f"[[keys]]\nname = {_toml_str(name)}\ntenant = {_toml_str(tenant)}\n"
            f"sha256 = {_toml_str(hash_key(raw[name]))}\nroles = [{role_list}]\n\n"
        )
        raw_lines.append(f"[keys.{name}]\ntenant = {_toml_str(tenant)}\nkey = {_toml_str(raw[name])}\n\n")
    hashed_path.write_text("".join(hashed_lines))
    fd = os.open(raw_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(raw_lines))
    service_key = data_dir / "service.key"
    fd = os.open(service_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(raw["internal-service"] + "\n")
    return load_credentials(data_dir)


def load_credentials(data_dir: Path) -> Credentials:
    """Read credentials.toml written by `ensure_credentials`."""
    doc = tomllib.loads((data_dir / "credentials.toml").read_text())
    keys = doc.get("keys", {})
    return Credentials(
        keys={name: entry["key"] for name, entry in keys.items()},
        tenants={name: entry["tenant"] for name, entry in keys.items()},
    )


def named_key(data_dir: Path, name: str, *, hint: str = "") -> str:
    """The raw key called `name` in the embedded default's credentials file (CLI `--as`).

    Args:
        data_dir: Where `agentplane up` wrote credentials.toml.
        name: The key's name (`acme-user`, `acme-reviewer`, ...).
        hint: Other ways to give a key, named in the error (e.g. "pass --api-key").

    Raises:
        UnauthenticatedError: There is no credentials file, or no key of that name in it.
    """
    path = data_dir / "credentials.toml"
    if not path.exists():
        ways = f"{hint}, or start" if hint else "start"
        raise UnauthenticatedError(f"no API key: {ways} the platform once (`agentplane up`) to create {path}")
    creds = load_credentials(data_dir)
    if name not in creds.keys:
        raise UnauthenticatedError(f"no key named {name!r} in {path}; known: {', '.join(sorted(creds.keys))}")
    return creds.key_for(name)


def _address(settings: PlatformSettings, endpoint: str) -> str:
    addresses: tuple[str, ...] = getattr(settings.endpoints, endpoint)
    return addresses[0]


def process_specs(settings: PlatformSettings, *, python: str = sys.executable) -> list[ProcessSpec]:
    """Supervisor specs for every enabled process; each gets its port and the shared paths by env."""
    data_dir = settings.data_dir.resolve()
    shared_env = {
        "AGENTPLANE_DATA_DIR": str(data_dir),
        "AGENTPLANE_CLIENT__API_KEY_FILE": str(data_dir / "service.key"),
        "AGENTPLANE_ENDPOINTS__CONTROLLER": _json_list(settings.endpoints.controller),
        "AGENTPLANE_ENDPOINTS__GATEWAY": _json_list(settings.endpoints.gateway),
        "AGENTPLANE_ENDPOINTS__DOMAIN_INFERENCE": _json_list(settings.endpoints.domain_inference),
        "AGENTPLANE_ENDPOINTS__REALTIME": _json_list(settings.endpoints.realtime),
        "AGENTPLANE_ENDPOINTS__CONSOLE": _json_list(settings.endpoints.console),
        "AGENTPLANE_ENDPOINTS__METRICS": settings.endpoints.metrics.model_dump_json(),
        "PYTHONUNBUFFERED": "1",
    }
    enabled = {n: p for n, p in settings.processes.items() if p.enabled}
    sample_site = f"127.0.0.1:{settings.sample_site_port}"
    specs = []
    for name, proc in enabled.items():
        env = dict(shared_env)
        probe = HealthProbe("none")
        args, health_url = proc.args, proc.health_url
        if name == SAMPLE_SITE:
            args = ("--port", str(settings.sample_site_port), *args)
            health_url = health_url or f"http://{sample_site}/robots.txt"
        if proc.endpoint == "realtime" and SAMPLE_SITE in enabled:
            # Kept apart from `ssrf.allow`, which stays the operator's own list.
            env["AGENTPLANE_REALTIME__SSRF__ALSO_ALLOW"] = _json_list((sample_site,))
        if proc.endpoint:
            address = _address(settings, proc.endpoint)
            env[f"AGENTPLANE_{proc.endpoint.upper()}__SERVER__PORT"] = address.rsplit(":", 1)[1]
            env[f"AGENTPLANE_{proc.endpoint.upper()}__SERVER__HOST"] = address.rsplit(":", 1)[0]
            metrics_at: tuple[str, ...] = getattr(settings.endpoints.metrics, proc.endpoint, ())
            if metrics_at:  # the /metrics endpoint where `agentplane top` and Prometheus look for it
                env[f"AGENTPLANE_{proc.endpoint.upper()}__METRICS__PORT"] = metrics_at[0].rsplit(":", 1)[1]
        if proc.health == "grpc":
            probe = HealthProbe("grpc", _address(settings, proc.endpoint), proc.grpc_service, settings.client.tls)
        elif proc.health == "http":
            url = health_url or (f"http://{_address(settings, proc.endpoint)}/healthz" if proc.endpoint else "")
            probe = HealthProbe("http", url)
        env.update(proc.env)
        specs.append(
            ProcessSpec(
                name=name,
                argv=(python, "-m", proc.module, *args),
                env=env,
                probe=probe,
                depends_on=tuple(d for d in proc.depends_on if d in enabled),
                start_timeout_s=proc.start_timeout_s,
                stop_grace_s=settings.stop_grace_s,
            )
        )
    return specs


def _json_list(values: tuple[str, ...]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"

"""`agentplane deploy secrets`: write the files the Kubernetes Secrets are generated from.

Layer: shared core, CLI (deployment tooling). The kustomize tree in deploy/kubernetes builds
its Secrets with `secretGenerator` from files kept out of git: `base/secrets/` (API keys,
provider keys, TLS: a private CA and a certificate per component) and
`overlays/scaled/secrets/` (the PostgreSQL DSN and the Redis URL).
This command writes them, once: existing files are kept unless a flag gives a new value.
Values are written without a trailing newline, since each file becomes one Secret value.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentplane.certs import CertificateAuthority, write_identity
from agentplane.errors import InvalidArgumentError
from agentplane.platform import ensure_credentials

__all__ = [
    "DEFAULT_POSTGRES_DSN",
    "DEFAULT_REDIS_URL",
    "TLS_COMPONENTS",
    "register",
    "write_secret_files",
    "write_tls_files",
]

# Every component that serves or calls over TLS; its identity is its Service name, agentplane-<component>.
TLS_COMPONENTS = (
    "controller",
    "gateway",
    "domain-inference",
    "realtime",
    "mcp-controller",
    "mcp-gateway",
    "mcp-domain-inference",
    "mcp-realtime",
)

DEFAULT_POSTGRES_DSN = "postgresql://agentplane@agentplane-postgres:5432/agentplane"
DEFAULT_REDIS_URL = "redis://agentplane-redis:6379/0"
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def register(sub: Any) -> None:
    """Add the `deploy` command group."""
    parser: argparse.ArgumentParser = sub.add_parser("deploy", help="prepare a Kubernetes deployment")
    deploy_sub = parser.add_subparsers(dest="deploy_command", required=True)
    secrets = deploy_sub.add_parser(
        "secrets",
        help="write the (git-ignored) files the manifests' Secrets are generated from",
        description="Write API keys, provider keys, store addresses and TLS material (a private CA and one "
        "certificate per component) under DIR/base/secrets and DIR/overlays/scaled/secrets. Existing files are "
        "kept unless a flag gives a new value. The raw API keys for your clients are in "
        "DIR/base/secrets/credentials.toml and the CA's key in DIR/base/secrets/tls/ca.key (mode 0600); "
        "neither goes into the cluster.",
    )
    secrets.add_argument("--dir", type=Path, default=Path("deploy/kubernetes"), help="the kustomize tree")
    secrets.add_argument(
        "--postgres-dsn", help=f"scaled overlays: the controller's store (default {DEFAULT_POSTGRES_DSN})"
    )
    secrets.add_argument(
        "--redis-url", help=f"scaled overlays: the gateway's cache and usage (default {DEFAULT_REDIS_URL})"
    )
    secrets.add_argument(
        "--provider-key",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an upstream key for the gateway, e.g. OPENAI_API_KEY=sk-... (repeatable; named by api_key_env)",
    )
    secrets.set_defaults(func=_run_secrets)


def _write(path: Path, text: str, *, replace: bool) -> bool:
    if path.exists() and not replace:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return True


def write_tls_files(directory: Path, *, namespace: str = "agentplane") -> list[Path]:
    """A CA (kept here: ca.key never enters the cluster) and one certificate per component; kept when present.

    Each component's certificate names `agentplane-<component>` (its identity, and the host its
    clients dial through the headless Service) and the namespace-qualified Service names.
    """
    ca_cert, ca_key = directory / "ca.crt", directory / "ca.key"
    written: list[Path] = []
    if ca_cert.exists() and ca_key.exists():
        ca = CertificateAuthority.load(ca_cert, ca_key)
    else:
        ca = CertificateAuthority.create("agentplane CA")
        directory.mkdir(parents=True, exist_ok=True)
        ca_cert.write_bytes(ca.cert_pem)
        _write(ca_key, ca.key_pem.decode(), replace=True)
        written += [ca_cert, ca_key]
    for component in TLS_COMPONENTS:
        target = directory / component
        if (target / "tls.crt").exists():
            continue
        name = f"agentplane-{component}"
        issued = ca.issue(name, [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"])
        written += list(write_identity(target, ca, issued).values())
    return written


def _provider_keys(pairs: Sequence[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.match(name) or not value or "\n" in value:
            raise InvalidArgumentError(f"--provider-key {name!r}: expected NAME=VALUE with an upper-case NAME")
        keys[name] = value
    return keys


def write_secret_files(
    root: Path,
    *,
    postgres_dsn: str | None = None,
    redis_url: str | None = None,
    provider_keys: dict[str, str] | None = None,
) -> list[Path]:
    """Write the Secret source files of the kustomize tree at `root`; return the files written.

    Args:
        root: deploy/kubernetes (holds base/ and overlays/).
        postgres_dsn: The controller's PostgreSQL DSN (scaled overlays); kept or defaulted when None.
        redis_url: The gateway's Redis URL (scaled overlays); kept or defaulted when None.
        provider_keys: Upstream keys by variable name; replaces provider-keys.env when given.

    Raises:
        InvalidArgumentError: `root` is not the kustomize tree.
    """
    if not (root / "base" / "kustomization.yaml").is_file():
        raise InvalidArgumentError(f"{root} is not agentplane's kustomize tree (no base/kustomization.yaml)")
    base = root / "base" / "secrets"
    scaled = root / "overlays" / "scaled" / "secrets"
    had_keys = (base / "keys.toml").exists()
    ensure_credentials(base)
    written = [] if had_keys else [base / "keys.toml", base / "service.key", base / "credentials.toml"]
    env_text = "".join(f"{name}={value}\n" for name, value in sorted((provider_keys or {}).items()))
    candidates = [
        (base / "provider-keys.env", env_text, provider_keys is not None),
        (scaled / "postgres-dsn", postgres_dsn or DEFAULT_POSTGRES_DSN, postgres_dsn is not None),
        (scaled / "redis-url", redis_url or DEFAULT_REDIS_URL, redis_url is not None),
    ]
    written += [path for path, text, replace in candidates if _write(path, text, replace=replace)]
    return written + write_tls_files(base / "tls")


def _run_secrets(args: argparse.Namespace) -> int:
    keys = _provider_keys(args.provider_key) if args.provider_key else None
    written = write_secret_files(args.dir, postgres_dsn=args.postgres_dsn, redis_url=args.redis_url, provider_keys=keys)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("every secret file already exists; nothing written (flags replace values)")
    return 0

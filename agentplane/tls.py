"""TLS material and policy shared by every listener and client: PEM files, HTTPS contexts, plaintext checks.

Layer: shared core, transport security (no gRPC or HTTP library here). The gRPC credentials
are built from these files in `agentplane.rpc.credentials`; the HTTP fronts (gateway, MCP)
take `server_ssl_context`. Plaintext stays the default on loopback; `check_plaintext_bind`
makes a non-loopback listener without TLS log a warning, or refuse to start when
`refuse_plaintext_off_loopback` is set.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import Iterable
from pathlib import Path

from agentplane.settings import SettingsError, TlsListenerSettings

__all__ = ["check_plaintext_bind", "identity_allowed", "is_loopback", "read_pem", "server_ssl_context"]

log = logging.getLogger("agentplane.tls")


def read_pem(path: Path, what: str) -> bytes:
    """The bytes of a PEM file.

    Raises:
        SettingsError: The file is missing, unreadable or holds no PEM block; the message names it.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc
    if b"-----BEGIN " not in data:
        raise SettingsError(f"{what}: {path} holds no PEM data")
    return data


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_plaintext_bind(host: str, tls: TlsListenerSettings, what: str) -> None:
    """Warn about (or refuse) a plaintext listener on a non-loopback address.

    Args:
        host: The address to bind.
        tls: The listener's TLS settings.
        what: The listener, for the message (e.g. "gateway gRPC server", with its settings path).

    Raises:
        SettingsError: Plaintext off loopback while `refuse_plaintext_off_loopback` is set.
    """
    if tls.enabled or is_loopback(host):
        return
    message = (
        f"{what} would listen on {host} without TLS: anyone who can reach it can read and alter its traffic; "
        "set its tls.cert_file and tls.key_file (and tls.client_ca_file for mutual TLS)"
    )
    if tls.refuse_plaintext_off_loopback:
        raise SettingsError(message + " (refused: tls.refuse_plaintext_off_loopback is set)")
    log.warning("%s", message)


def server_ssl_context(tls: TlsListenerSettings, what: str) -> ssl.SSLContext | None:
    """An HTTPS server context from the listener's files (TLS 1.2+), or None for plaintext.

    Raises:
        SettingsError: A file is missing or the key does not match the certificate.
    """
    if tls.cert_file is None or tls.key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    read_pem(tls.cert_file, f"{what} tls.cert_file")
    read_pem(tls.key_file, f"{what} tls.key_file")
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except ssl.SSLError as exc:
        raise SettingsError(f"{what}: tls.key_file does not match tls.cert_file ({exc.reason})") from exc
    if tls.client_ca_file is not None:
        context.load_verify_locations(cadata=read_pem(tls.client_ca_file, f"{what} tls.client_ca_file").decode())
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def identity_allowed(identities: Iterable[str], allowed: Iterable[str]) -> bool:
    """Whether any of a peer's certificate identities is in the allow-list (an empty list allows all)."""
    wanted = set(allowed)
    return not wanted or any(identity in wanted for identity in identities)

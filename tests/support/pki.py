"""A throwaway certificate authority for TLS tests (agentplane.certs, i.e. the `cryptography` package)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentplane.certs import CertificateAuthority, write_identity
from agentplane.settings import ClientTlsSettings


@dataclass
class Pki:
    """A CA and the identities it issued, each a directory with ca.crt, tls.crt and tls.key."""

    root: Path
    ca: CertificateAuthority

    @classmethod
    def create(cls, root: Path, name: str = "test CA") -> Pki:
        pki = cls(root, CertificateAuthority.create(name))
        root.mkdir(parents=True, exist_ok=True)
        (root / "ca.crt").write_bytes(pki.ca.cert_pem)
        return pki

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.crt"

    def identity(self, name: str) -> Path:
        """The directory of `name`'s certificate (valid for `name`, localhost and 127.0.0.1)."""
        directory = self.root / name
        if not directory.exists():
            write_identity(directory, self.ca, self.ca.issue(name, ["localhost", "127.0.0.1"]))
        return directory

    def listener_tls(self, name: str, *, mutual: bool = True) -> dict[str, Any]:
        """TLS settings (as overrides) of a listener presenting `name`'s certificate."""
        d = self.identity(name)
        tls: dict[str, Any] = {"cert_file": str(d / "tls.crt"), "key_file": str(d / "tls.key")}
        if mutual:
            tls["client_ca_file"] = str(self.ca_file)
        return tls

    def client_tls(self, name: str | None, *, trust: Path | None = None) -> ClientTlsSettings:
        """Client TLS trusting `trust` (default this CA), presenting `name`'s certificate unless None."""
        ca_file = trust or self.ca_file
        if name is None:
            return ClientTlsSettings(enabled=True, ca_file=ca_file)
        d = self.identity(name)
        return ClientTlsSettings(enabled=True, ca_file=ca_file, cert_file=d / "tls.crt", key_file=d / "tls.key")

    def ssl_context(self, name: str | None) -> ssl.SSLContext:
        """An HTTPS client context trusting this CA, presenting `name`'s certificate unless None."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if name is not None:
            d = self.identity(name)
            context.load_cert_chain(d / "tls.crt", d / "tls.key")
        return context


def platform_tls_config(pki: Pki) -> str:
    """TOML that runs the four services over mutual TLS: each its own certificate, internal services
    callable only by the controller; the `up` supervisor and CLI present the `operator` certificate."""

    def files(name: str) -> str:
        d = pki.identity(name)
        return f'cert_file = "{d / "tls.crt"}"\nkey_file = "{d / "tls.key"}"\n'

    ca = f'"{pki.ca_file}"'
    parts = [f"[client.tls]\nenabled = true\nca_file = {ca}\n{files('operator')}"]
    for service in ("controller", "gateway", "domain_inference", "realtime"):
        allowed = '["operator"]' if service == "controller" else '["controller"]'
        parts.append(
            f"[{service}.server.tls]\n{files(service)}client_ca_file = {ca}\nallowed_client_identities = {allowed}\n"
        )
    parts.append(f"[controller.client.tls]\nenabled = true\nca_file = {ca}\n{files('controller')}")
    return "\n".join(parts)

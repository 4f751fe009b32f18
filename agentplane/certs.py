"""A private certificate authority for agentplane's TLS: one CA, one certificate per service identity.

Layer: shared core, deployment tooling (the `cryptography` package; nothing here runs on a
request path). `agentplane deploy certs` and `agentplane deploy secrets` write these files;
the tests make throwaway ones. Every leaf certificate is valid for both sides of mutual TLS
(serverAuth and clientAuth): a service presents the same certificate to its callers and to
the services it calls. Its identity is its common name and first DNS name, which allow-lists
(`server.tls.allowed_client_identities`) name.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificateAuthority", "IssuedCertificate", "write_identity"]

_KEY_CURVE = ec.SECP256R1()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "agentplane"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate with its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class CertificateAuthority:
    """A self-signed CA that issues agentplane's certificates."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str = "agentplane CA", *, valid_days: int = 3650) -> CertificateAuthority:
        """A new CA (EC P-256 key) valid from now for `valid_days`."""
        key = ec.generate_private_key(_KEY_CURVE)
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, cert_file: Path, key_file: Path) -> CertificateAuthority:
        """The CA whose PEM certificate and key are in these files."""
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file}: expected an EC private key")
        return cls(cert, key)

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate (what clients and servers trust)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The CA's private key (keep it out of the cluster)."""
        return _pem_key(self.key)

    def issue(self, identity: str, names: Sequence[str] = (), *, valid_days: int = 825) -> IssuedCertificate:
        """A certificate for `identity`, for servers and clients alike.

        Args:
            identity: The common name and first DNS name (what allow-lists name).
            names: More DNS names or IP addresses the certificate is valid for (e.g. "127.0.0.1").
            valid_days: Validity from now.
        """
        key = ec.generate_private_key(_KEY_CURVE)
        sans: list[x509.GeneralName] = [x509.DNSName(identity)]
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(identity))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return IssuedCertificate(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_identity(directory: Path, ca: CertificateAuthority, issued: IssuedCertificate) -> dict[str, Path]:
    """Write `ca.crt`, `tls.crt` and `tls.key` (0600) into `directory` (the kubernetes.io/tls layout)."""
    paths = {"ca.crt": directory / "ca.crt", "tls.crt": directory / "tls.crt", "tls.key": directory / "tls.key"}
    directory.mkdir(parents=True, exist_ok=True)
    paths["ca.crt"].write_bytes(ca.cert_pem)
    paths["tls.crt"].write_bytes(issued.cert_pem)
    _write_private(paths["tls.key"], issued.key_pem)
    return paths

"""Ed25519 signatures over audit chain heads, and the signing key's custody.

Layer: controller domain, plus the key file (read once at start). A signed head is
a statement `{format, tenant, sequence, hash, signed_at, key_id}` in canonical JSON
with an Ed25519 signature over its UTF-8 bytes (docs/audit.md). Anyone holding the
public key can then check, offline, that a chain exported later still ends in, or
passes through, the signed hash: nothing before it was changed after signing.

The private key comes from `audit.signing_key_file` (a secret file the operator
provides, PEM PKCS#8), or else from `<data_dir>/audit-signing.key`, created on first
start with mode 0600; a key file that group or others may read is refused.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentplane.settings import SettingsError
from controller.audit import hashed_timestamp
from controller.audit_verifier import ANCHOR_FORMAT, canonical_json, key_id, signed_bytes

__all__ = ["DEFAULT_KEY_FILE", "AuditSigner", "SignedHead", "load_signing_key"]

DEFAULT_KEY_FILE = "audit-signing.key"


@dataclass(frozen=True)
class SignedHead:
    """A tenant's chain head as signed: the exact statement bytes and the signature."""

    tenant: str
    sequence: int
    statement_json: str
    """The signed statement, canonical JSON (the signature covers its UTF-8 bytes)."""
    signature: str
    """Base64 of the 64-byte Ed25519 signature."""

    @property
    def statement(self) -> dict[str, object]:
        """The statement as an object."""
        doc: dict[str, object] = json.loads(self.statement_json)
        return doc


class AuditSigner:
    """Signs chain heads with one Ed25519 key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        public = private_key.public_key()
        self.key_id = key_id(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def public_key_pem(self) -> str:
        """The public key, PEM SubjectPublicKeyInfo: what verifiers are given."""
        pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode()

    def sign(self, tenant: str, sequence: int, head_hash: str, at: datetime) -> SignedHead:
        """Sign `tenant`'s head (`sequence`, `head_hash`) as of `at`."""
        statement = {
            "format": ANCHOR_FORMAT,
            "tenant": tenant,
            "sequence": sequence,
            "hash": head_hash,
            "signed_at": hashed_timestamp(at),
            "key_id": self.key_id,
        }
        signature = self._key.sign(signed_bytes(statement))
        return SignedHead(tenant, sequence, canonical_json(statement), base64.b64encode(signature).decode())


def load_signing_key(key_file: Path | None, data_dir: Path) -> Ed25519PrivateKey:
    """The audit signing key: from `key_file`, else the data dir's own (created once, mode 0600).

    Raises:
        SettingsError: The key file cannot be read, is not an Ed25519 private key in PEM,
            or (the data dir's key) may be read by group or others.
    """
    if key_file is not None:
        return _read_key(key_file)
    path = data_dir / DEFAULT_KEY_FILE
    if not path.exists():
        _create_key(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SettingsError(f"{path} may be read by others (mode {mode:o}); run: chmod 600 {path}")
    return _read_key(path)


def _create_key(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    try:
        os.link(partial, path)  # atomic, and never replaces a key another process created first
    except FileExistsError:
        pass
    finally:
        partial.unlink()


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"audit.signing_key_file: cannot read {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"audit signing key {path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SettingsError(f"audit signing key {path}: an Ed25519 key is needed, not {type(key).__name__}")
    return key

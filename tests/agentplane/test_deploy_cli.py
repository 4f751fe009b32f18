"""`agentplane deploy secrets`: the git-ignored files the Kubernetes Secrets are generated from."""

from __future__ import annotations

import shutil
import stat
import tomllib
from pathlib import Path

import pytest
from cryptography import x509

from agentplane.cli.deploy import DEFAULT_POSTGRES_DSN, TLS_COMPONENTS, write_secret_files
from agentplane.cli.main import main
from agentplane.errors import InvalidArgumentError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "deploy" / "kubernetes", tmp_path / "k8s", ignore=shutil.ignore_patterns("secrets"))
    return tmp_path / "k8s"


def test_writes_keys_hashes_and_store_addresses_once(tree: Path):
    written = write_secret_files(tree)
    base, scaled = tree / "base" / "secrets", tree / "overlays" / "scaled" / "secrets"
    tls = base / "tls"
    assert set(written) == {
        base / "keys.toml", base / "service.key", base / "credentials.toml", base / "provider-keys.env",
        scaled / "postgres-dsn", scaled / "redis-url", tls / "ca.crt", tls / "ca.key",
        *(tls / c / f for c in TLS_COMPONENTS for f in ("ca.crt", "tls.crt", "tls.key")),
    }  # fmt: skip
    gateway = x509.load_pem_x509_certificate((tls / "gateway" / "tls.crt").read_bytes())
    names = gateway.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )
    assert names == [
        "agentplane-gateway",
        "agentplane-gateway.agentplane.svc",
        "agentplane-gateway.agentplane.svc.cluster.local",
    ]
    gateway.verify_directly_issued_by(x509.load_pem_x509_certificate((tls / "ca.crt").read_bytes()))
    hashed = tomllib.loads((base / "keys.toml").read_text())["keys"]
    raw = tomllib.loads((base / "credentials.toml").read_text())["keys"]
    assert {k["name"] for k in hashed} == set(raw) and all(len(k["sha256"]) == 64 for k in hashed)
    secret = [p for p in written if p.name not in {"keys.toml", "ca.crt", "tls.crt"}]  # hashes and certificates
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in secret)
    assert (scaled / "postgres-dsn").read_text() == DEFAULT_POSTGRES_DSN  # one Secret value: no newline
    keys_before = (base / "keys.toml").read_text()
    assert write_secret_files(tree) == []
    assert (base / "keys.toml").read_text() == keys_before


def test_flags_replace_values(tree: Path, capsys: pytest.CaptureFixture[str]):
    write_secret_files(tree)
    code = main([
        "deploy", "secrets", "--dir", str(tree), "--postgres-dsn", "postgresql://app:pw@db:5432/ap",
        "--provider-key", "OPENAI_API_KEY=sk-test",
    ])  # fmt: skip
    assert code == 0 and "postgres-dsn" in capsys.readouterr().out
    assert (tree / "overlays" / "scaled" / "secrets" / "postgres-dsn").read_text() == "postgresql://app:pw@db:5432/ap"
    assert (tree / "base" / "secrets" / "provider-keys.env").read_text() == "OPENAI_API_KEY=sk-test\n"


def test_bad_input_is_refused_with_a_clear_error(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["deploy", "secrets", "--dir", str(tree), "--provider-key", "openai=sk"]) == 1
    assert "expected NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(InvalidArgumentError, match="not agentplane's kustomize tree"):
        write_secret_files(tmp_path / "elsewhere")

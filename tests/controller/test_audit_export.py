"""Audit exports checked offline: the standalone verifier, signed heads, and tampering after signing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from agentplane.settings import SettingsError
from controller import audit_verifier
from controller.anchors import AuditAnchors
from controller.audit import AuditDraft, hashed_record, seal
from controller.audit_signing import DEFAULT_KEY_FILE, AuditSigner, SignedHead, load_signing_key
from controller.audit_verifier import EXPORT_FORMAT, event_hash, load_public_key, verify_export
from controller.models import AuditEvent
from controller.store import Store

T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
VERIFIER = Path(audit_verifier.__file__)


def _chain(n: int, tenant: str = "acme") -> list[AuditEvent]:
    events: list[AuditEvent] = []
    for i in range(1, n + 1):
        details = {"i": i, "note": "café ✓\n"}
        draft = AuditDraft(tenant, f"task-{i}", "task.step", "alice", "trace", T0 + timedelta(seconds=i), details)
        events.append(seal(draft, i, events[-1].hash if events else ""))
    return events


def _lines(events: list[AuditEvent], heads: list[SignedHead], tenant: str = "acme") -> list[str]:
    docs: list[dict[str, Any]] = [{"kind": "header", "format": EXPORT_FORMAT, "tenant": tenant, "task_id": ""}]
    docs += [{"kind": "event", "record": hashed_record(e), "prev_hash": e.prev_hash, "hash": e.hash} for e in events]
    docs += [{"kind": "anchor", "statement": h.statement, "signature": h.signature} for h in heads]
    return [json.dumps(d, ensure_ascii=False) for d in docs]


@pytest.fixture
def signer() -> AuditSigner:
    return AuditSigner(Ed25519PrivateKey.generate())


def _key(signer: AuditSigner) -> audit_verifier.PublicKey:
    return load_public_key(signer.public_key_pem().encode())


def _signed(signer: AuditSigner, events: list[AuditEvent], at: int) -> SignedHead:
    return signer.sign(events[at - 1].tenant, at, events[at - 1].hash, T0 + timedelta(hours=at))


def _rechain(events: list[AuditEvent]) -> list[AuditEvent]:
    """What a forger with database access does after an edit: recompute every hash."""
    out: list[AuditEvent] = []
    for e in events:
        prev = out[-1].hash if out else ""
        moved = replace(e, prev_hash=prev, hash="")
        out.append(replace(moved, hash=event_hash(prev, hashed_record(moved))))
    return out


def test_an_export_carries_exactly_the_hashed_record(signer: AuditSigner) -> None:
    events = _chain(3)
    doc = json.loads(_lines(events, [])[2])
    assert doc["record"] == {
        "tenant": "acme",
        "sequence": 2,
        "task_id": "task-2",
        "action": "task.step",
        "actor": "alice",
        "trace_id": "trace",
        "at": "2025-03-04T05:06:09.123456+00:00",
        "details": '{"i":2,"note":"café ✓\\n"}',
    }
    assert event_hash(doc["prev_hash"], doc["record"]) == doc["hash"] == events[1].hash


def test_a_signed_export_verifies(signer: AuditSigner) -> None:
    events = _chain(5)
    report = verify_export(_lines(events, [_signed(signer, events, 2), _signed(signer, events, 5)]), [_key(signer)])
    assert report.valid, report.problem
    assert (report.events_checked, report.head_sequence, report.anchors_verified) == (5, 5, 2)
    assert report.head_hash == events[-1].hash


def test_an_event_edited_and_rechained_after_signing_is_caught(signer: AuditSigner) -> None:
    events = _chain(5)
    heads = [_signed(signer, events, 5)]
    forged = _rechain([*events[:2], replace(events[2], details_json='{"i":999}'), *events[3:]])
    assert verify_export(_lines(forged, []), [], chain_only=True).valid  # the chain alone cannot tell
    report = verify_export(_lines(forged, heads), [_key(signer)])
    assert not report.valid
    assert (report.first_bad_sequence, report.problem) == (
        5,
        "signed head at sequence 5 does not match the chain (changed after signing)",
    )


def test_an_edit_without_rechaining_names_the_event(signer: AuditSigner) -> None:
    events = _chain(4)
    events[1] = replace(events[1], actor="mallory")
    report = verify_export(_lines(events, [_signed(signer, _chain(4), 4)]), [_key(signer)])
    assert (report.valid, report.first_bad_sequence) == (False, 2)
    assert "edited" in report.problem


def test_a_forged_statement_or_a_foreign_key_is_refused(signer: AuditSigner) -> None:
    events = _chain(3)
    head = _signed(signer, events, 3)
    forged = SignedHead("acme", 3, json.dumps({**head.statement, "signed_at": "2030-01-01"}), head.signature)
    report = verify_export(_lines(events, [forged]), [_key(signer)])
    assert not report.valid and "signature does not verify" in report.problem
    other = AuditSigner(Ed25519PrivateKey.generate())
    report = verify_export(_lines(events, [head]), [_key(other)])
    assert not report.valid and "no anchor signed by a given key" in report.problem
    assert any(head.statement["key_id"] in note for note in report.notes)
    both = verify_export(_lines(events, [head]), [_key(other), _key(signer)])  # a rotated key set
    assert both.valid


def test_removed_or_unsigned_tail_events_are_caught(signer: AuditSigner) -> None:
    events = _chain(5)
    report = verify_export(_lines(events[:3], [_signed(signer, events, 5)]), [_key(signer)])
    assert not report.valid and "events removed" in report.problem
    report = verify_export(_lines(events, [_signed(signer, events, 3)]), [_key(signer)])
    assert (report.valid, report.first_bad_sequence) == (False, 4)
    assert "not covered by a signature" in report.problem
    assert "no public key" in verify_export(_lines(events, [_signed(signer, events, 5)]), []).problem


def test_exported_forms_must_be_the_hashed_forms(signer: AuditSigner) -> None:
    events = _chain(2)
    lines = _lines(events, [_signed(signer, events, 2)])
    as_string = lines[1].replace('"sequence": 1', '"sequence": "1"')
    report = verify_export([lines[0], as_string, *lines[2:]], [_key(signer)])
    assert report.problem == "record.sequence must be a JSON integer, got '1'"
    zulu = lines[1].replace("+00:00", "Z")
    assert "edited" in verify_export([lines[0], zulu, *lines[2:]], [_key(signer)]).problem
    with pytest.raises(audit_verifier.ExportError, match="line 2: not JSON"):
        verify_export([lines[0], "{oops"], [])


def _write_export(tmp_path: Path, lines: list[str], signer: AuditSigner) -> tuple[Path, Path]:
    export, key = tmp_path / "acme.jsonl", tmp_path / "audit.pub"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    key.write_text(signer.public_key_pem())
    return export, key


def test_the_verifier_runs_standalone_without_the_project(tmp_path: Path, signer: AuditSigner) -> None:
    events = _chain(4)
    export, key = _write_export(tmp_path, _lines(events, [_signed(signer, events, 4)]), signer)
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    script = alone / "verify.py"
    script.write_bytes(VERIFIER.read_bytes())
    # -I: no PYTHONPATH, no user site, not even the script's own folder; cwd is outside the repository.
    argv = [sys.executable, "-I", str(script), str(export), "--public-key", str(key)]
    done = subprocess.run(argv, cwd=alone, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"valid: 4 events, head 4 {events[-1].hash}" in done.stdout
    forged = _rechain([replace(events[0], action="nothing happened"), *events[1:]])
    _write_export(tmp_path, _lines(forged, [_signed(signer, events, 4)]), signer)
    done = subprocess.run(argv, cwd=alone, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 4
    assert "changed after signing" in done.stderr


def test_the_signing_key_is_created_private_and_refused_when_readable(tmp_path: Path) -> None:
    key = load_signing_key(None, tmp_path)
    path = tmp_path / DEFAULT_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_signing_key(None, tmp_path)
    assert AuditSigner(again).key_id == AuditSigner(key).key_id
    os.chmod(path, 0o644)
    with pytest.raises(SettingsError, match="may be read by others"):
        load_signing_key(None, tmp_path)


def test_a_secret_key_file_is_used_and_checked(tmp_path: Path) -> None:
    given = Ed25519PrivateKey.generate()
    secret = tmp_path / "secret.pem"
    secret.write_bytes(
        given.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    assert AuditSigner(load_signing_key(secret, tmp_path / "data")).key_id == AuditSigner(given).key_id
    assert not (tmp_path / "data" / DEFAULT_KEY_FILE).exists()
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    secret.write_bytes(
        rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(SettingsError, match="an Ed25519 key is needed"):
        load_signing_key(secret, tmp_path)
    with pytest.raises(SettingsError, match="cannot read"):
        load_signing_key(tmp_path / "missing.pem", tmp_path)


async def test_heads_are_signed_once_per_sequence_and_kept(store: Store, signer: AuditSigner) -> None:
    anchors = AuditAnchors(store, signer, interval_s=0)
    drafts = [AuditDraft(t, "", "a", "x", "", T0) for t in ("acme", "acme", "globex")]
    await store.append_audit(drafts)
    assert await store.unsigned_heads(10) == [
        ("acme", 2, (await store.audit_head("acme"))[1]),
        ("globex", 1, (await store.audit_head("globex"))[1]),
    ]
    first = await anchors.sign_head("acme")
    assert await anchors.sign_head("acme") == first  # the kept signature, not a new one
    assert first.statement["sequence"] == 2 and first.statement["tenant"] == "acme"
    assert await anchors.sign_moved_heads() == 1  # globex only
    assert await store.unsigned_heads(10) == []
    await store.append_audit([AuditDraft("acme", "", "b", "x", "", T0)])
    assert await anchors.sign_moved_heads() == 1
    kept = await store.signed_heads("acme")
    assert [h.sequence for h in kept] == [2, 3]
    assert await store.signed_heads("acme", after_sequence=2) == kept[1:]
    events = await store.audit_events("acme")
    assert verify_export(_lines(events, kept), [_key(signer)]).valid

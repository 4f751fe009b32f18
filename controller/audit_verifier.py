"""Standalone verifier of an agentplane audit export (`agentplane audit export`).

Layer: none. This file imports only the Python standard library and, to check
signatures, the `cryptography` package: copy it anywhere and run
`python audit_verifier.py acme.jsonl --public-key audit-signing.pub`. The controller
uses the same functions to seal and verify its chains, so what this script recomputes
is exactly what the server hashed. The format is specified in docs/audit.md.

Exit codes: 0 valid, 4 the export does not verify, 2 unusable input (unreadable
file, malformed line, bad key).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ANCHOR_FORMAT",
    "EXPORT_FORMAT",
    "RECORD_FIELDS",
    "ChainLink",
    "ChainVerdict",
    "ExportError",
    "ExportReport",
    "PublicKey",
    "canonical_json",
    "event_hash",
    "key_id",
    "load_public_key",
    "main",
    "signed_bytes",
    "verify_export",
    "verify_links",
]

EXPORT_FORMAT = "agentplane.audit.export/1"
ANCHOR_FORMAT = "agentplane.audit.anchor/1"
# The members of a hashed record, with their JSON types.
RECORD_FIELDS: Mapping[str, type] = {
    "tenant": str,
    "sequence": int,
    "task_id": str,
    "action": str,
    "actor": str,
    "trace_id": str,
    "at": str,
    "details": str,
}
_ANCHOR_FIELDS: Mapping[str, type] = {
    "format": str,
    "tenant": str,
    "sequence": int,
    "hash": str,
    "signed_at": str,
    "key_id": str,
}


class ExportError(ValueError):
    """The export (or a key) cannot be read at all: not a verdict on its content."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace and characters kept as UTF-8 (docs/audit.md, "Canonical form").

    For the records hashed here (ASCII keys, strings and one integer) this is
    exactly RFC 8785 (JCS).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    """Lowercase hex SHA-256 of `prev_hash + "\\n" + canonical_json(record)` in UTF-8."""
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(record)}".encode()).hexdigest()


def signed_bytes(statement: Mapping[str, Any]) -> bytes:
    """The bytes an anchor's Ed25519 signature covers: its statement in canonical form, UTF-8."""
    return canonical_json(statement).encode()


def key_id(raw_public_key: bytes) -> str:
    """A signing key's id: the first 16 hex digits of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


@dataclass(frozen=True)
class ChainLink:
    """One event of a chain as it was hashed: its record, the previous hash, its own hash."""

    record: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainVerdict:
    """Result of verifying one tenant's chain."""

    valid: bool
    events_checked: int
    first_bad_sequence: int = 0
    problem: str = ""
    head_hash: str = ""


def _type_problem(doc: Mapping[str, Any], fields: Mapping[str, type], what: str) -> str:
    missing = [name for name in fields if name not in doc]
    if missing:
        return f"{what} lacks {', '.join(missing)}"
    extra = sorted(set(doc) - set(fields))
    if extra:
        return f"{what} has unexpected members {', '.join(extra)}"
    for name, kind in fields.items():
        value = doc[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{what}.{name} must be a JSON {'integer' if kind is int else 'string'}, got {value!r}"
    return ""


def verify_links(links: Iterable[ChainLink], *, head: tuple[int, str] | None = None) -> ChainVerdict:
    """Recompute a tenant's chain from its first event.

    Args:
        links: The tenant's events in sequence order, from sequence 1.
        head: The (sequence, hash) recorded as the chain's head, if any; a mismatch
            reveals events deleted from, replaced at or added to the end.

    Returns:
        The verdict; `first_bad_sequence` is the first event that does not fit.
    """
    prev_hash, expected_seq, checked = "", 1, 0
    hash_at_head = ""  # the hash of the event at the head's sequence ("" before the first event)
    for link in links:
        checked += 1
        problem = _type_problem(link.record, RECORD_FIELDS, "record")
        sequence = link.record.get("sequence")
        if problem:
            return ChainVerdict(False, checked, expected_seq, problem)
        assert isinstance(sequence, int)
        if sequence != expected_seq:
            what = "missing event(s)" if sequence > expected_seq else "duplicate or reordered event"
            return ChainVerdict(
                False, checked, expected_seq, f"{what}: expected sequence {expected_seq}, found {sequence}"
            )
        if link.prev_hash != prev_hash:
            return ChainVerdict(False, checked, sequence, "prev_hash does not match the previous event's hash")
        if event_hash(prev_hash, link.record) != link.hash:
            return ChainVerdict(False, checked, sequence, "event content does not match its hash (edited)")
        prev_hash, expected_seq = link.hash, expected_seq + 1
        if head is not None and sequence == head[0]:
            hash_at_head = link.hash
    if head is not None and head != (expected_seq - 1, prev_hash):
        return _head_mismatch(head, expected_seq - 1, hash_at_head, checked)
    return ChainVerdict(True, checked, head_hash=prev_hash)


def _head_mismatch(head: tuple[int, str], last: int, hash_at_head: str, checked: int) -> ChainVerdict:
    """The verdict for a chain that is sound in itself but ends elsewhere than the head."""
    head_sequence, head_hash = head
    if head_sequence > last:
        return ChainVerdict(
            False,
            checked,
            last + 1,
            f"chain ends at sequence {last} but the head says {head_sequence} (events deleted)",
        )
    if hash_at_head != head_hash:
        return ChainVerdict(
            False, checked, head_sequence, f"event {head_sequence} does not match the head's hash (replaced)"
        )
    return ChainVerdict(
        False, checked, head_sequence + 1, f"chain goes on past the head's sequence {head_sequence} (events inserted)"
    )


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key given to the verifier."""

    key_id: str
    raw: bytes


def load_public_key(pem: bytes) -> PublicKey:
    """Read an Ed25519 public key in PEM (SubjectPublicKeyInfo) form.

    Raises:
        ExportError: Not a PEM Ed25519 public key, or `cryptography` is not installed.
    """
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError as exc:
        raise ExportError("checking signatures needs the `cryptography` package (pip install cryptography)") from exc
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ExportError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ExportError(f"not an Ed25519 public key: {type(key).__name__}")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(key_id(raw), raw)


def _signature_ok(key: PublicKey, statement: Mapping[str, Any], signature_b64: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(key.raw).verify(signature, signed_bytes(statement))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class ExportReport:
    """What `verify_export` found."""

    valid: bool = False
    tenant: str = ""
    task_id: str = ""
    events_checked: int = 0
    head_sequence: int = 0
    head_hash: str = ""
    first_bad_sequence: int = 0
    problem: str = ""
    anchors_verified: int = 0
    signed_sequence: int = 0
    """The sequence the latest verified anchor covers."""
    notes: list[str] = field(default_factory=list)

    def fail(self, problem: str, sequence: int = 0) -> ExportReport:
        """Mark the report invalid with `problem`; return it."""
        self.valid, self.problem, self.first_bad_sequence = False, problem, sequence
        return self

    def summary(self) -> str:
        """One line for people."""
        if not self.valid:
            at = f" at sequence {self.first_bad_sequence}" if self.first_bad_sequence else ""
            return f"audit export of {self.tenant or '?'} does NOT verify{at}: {self.problem}"
        signed = (
            f"; head signed (sequence {self.signed_sequence}), {self.anchors_verified} signature(s) verified"
            if self.anchors_verified
            else ""
        )
        return (
            f"audit export of {self.tenant} valid: {self.events_checked} events, "
            f"head {self.head_sequence} {self.head_hash}{signed}"
        )


@dataclass
class _Parsed:
    header: dict[str, Any]
    links: list[ChainLink]
    anchors: list[tuple[dict[str, Any], str]]


def _parse(lines: Iterable[str]) -> _Parsed:
    header: dict[str, Any] | None = None
    links: list[ChainLink] = []
    anchors: list[tuple[dict[str, Any], str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportError(f"line {number}: not JSON ({exc.msg})") from None
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if number == 1 or header is None:
            if kind != "header" or doc.get("format") != EXPORT_FORMAT:
                raise ExportError(f"line {number}: expected the header of an {EXPORT_FORMAT} export")
            header = doc
        elif kind == "event":
            record, prev, digest = doc.get("record"), doc.get("prev_hash"), doc.get("hash")
            if not isinstance(record, dict) or not isinstance(prev, str) or not isinstance(digest, str):
                raise ExportError(f"line {number}: an event needs a record object and string prev_hash and hash")
            links.append(ChainLink(record, prev, digest))
        elif kind == "anchor":
            statement, signature = doc.get("statement"), doc.get("signature")
            if not isinstance(statement, dict) or not isinstance(signature, str):
                raise ExportError(f"line {number}: an anchor needs a statement object and a string signature")
            anchors.append((statement, signature))
        else:
            raise ExportError(f"line {number}: unknown kind {kind!r}")
    if header is None:
        raise ExportError("empty export")
    return _Parsed(header, links, anchors)


def _check_anchor(
    report: ExportReport,
    statement: dict[str, Any],
    signature: str,
    hashes: Mapping[int, str],
    keys: Sequence[PublicKey],
) -> str:
    """ "" when the anchor holds; else what is wrong. Counts verified anchors in `report`."""
    problem = _type_problem(statement, _ANCHOR_FIELDS, "anchor statement")
    if problem:
        return problem
    if statement["format"] != ANCHOR_FORMAT or statement["tenant"] != report.tenant:
        return f"anchor of another format or tenant: {statement['format']} / {statement['tenant']}"
    sequence, key = statement["sequence"], next((k for k in keys if k.key_id == statement["key_id"]), None)
    if key is None:
        report.notes.append(f"anchor at sequence {sequence} signed by key {statement['key_id']}: no such key given")
        return ""
    if not _signature_ok(key, statement, signature):
        return f"anchor at sequence {sequence}: signature does not verify with key {key.key_id}"
    if sequence > len(hashes):
        return f"the signed head is at sequence {sequence} but the chain ends at {len(hashes)} (events removed)"
    if hashes.get(sequence, "") != statement["hash"]:
        return f"signed head at sequence {sequence} does not match the chain (changed after signing)"
    report.anchors_verified += 1
    report.signed_sequence = max(report.signed_sequence, sequence)
    return ""


def verify_export(lines: Iterable[str], keys: Sequence[PublicKey], *, chain_only: bool = False) -> ExportReport:
    """Verify an export: every event's hash, the chain's links, and the signed heads.

    Args:
        lines: The export's lines (JSON Lines, docs/audit.md).
        keys: Public keys whose signatures are trusted (older keys after a rotation too).
        chain_only: Check the hash chain only and skip the signatures.

    Returns:
        The report; `valid` is False with `problem` naming the first thing that fails.

    Raises:
        ExportError: The input is not an export at all.
    """
    parsed = _parse(lines)
    report = ExportReport(tenant=str(parsed.header.get("tenant", "")), task_id=str(parsed.header.get("task_id", "")))
    if report.task_id:
        return _verify_task_export(report, parsed.links)
    for link in parsed.links:
        if link.record.get("tenant") != report.tenant:
            return report.fail(f"an event of tenant {link.record.get('tenant')!r} in {report.tenant!r}'s export")
    verdict = verify_links(parsed.links)
    report.events_checked, report.head_hash = verdict.events_checked, verdict.head_hash
    if not verdict.valid:
        return report.fail(verdict.problem, verdict.first_bad_sequence)
    report.head_sequence = len(parsed.links)
    if chain_only:
        report.notes.append("signatures not checked (chain only)")
        report.valid = True
        return report
    if not keys:
        return report.fail("no public key given to check the signed heads")
    hashes = {int(link.record["sequence"]): link.hash for link in parsed.links}
    for statement, signature in parsed.anchors:
        problem = _check_anchor(report, statement, signature, hashes, keys)
        if problem:
            sequence = statement.get("sequence")
            return report.fail(problem, sequence if isinstance(sequence, int) else 0)
    if not report.anchors_verified:
        return report.fail("no anchor signed by a given key: the chain's head is not signed")
    if report.signed_sequence != report.head_sequence:
        return report.fail(
            f"events after the last signed head (sequence {report.signed_sequence}) are not covered by a signature",
            report.signed_sequence + 1,
        )
    report.valid = True
    return report


def _verify_task_export(report: ExportReport, links: Sequence[ChainLink]) -> ExportReport:
    """One task's events: each event's own hash, and the links between neighbours."""
    previous: ChainLink | None = None
    for link in links:
        report.events_checked += 1
        problem = _type_problem(link.record, RECORD_FIELDS, "record")
        sequence = link.record.get("sequence", 0)
        if problem:
            return report.fail(problem, sequence if isinstance(sequence, int) else 0)
        if link.record["task_id"] != report.task_id or link.record["tenant"] != report.tenant:
            return report.fail("an event of another task or tenant in a task export", sequence)
        if event_hash(link.prev_hash, link.record) != link.hash:
            return report.fail("event content does not match its hash (edited)", sequence)
        if previous is not None and previous.record["sequence"] + 1 == sequence and link.prev_hash != previous.hash:
            return report.fail("prev_hash does not match the previous event's hash", sequence)
        previous = link
    report.head_sequence = int(links[-1].record["sequence"]) if links else 0
    report.head_hash = links[-1].hash if links else ""
    report.notes.append("a task export: each event checked, not the whole chain nor its signed heads")
    report.valid = True
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Verify an export file given on the command line; print the verdict."""
    parser = argparse.ArgumentParser(description="Verify an agentplane audit export offline (docs/audit.md).")
    parser.add_argument("export", help="the export file (JSON Lines), or - for stdin")
    parser.add_argument(
        "--public-key", action="append", default=[], metavar="PEM", help="trusted Ed25519 public key (repeatable)"
    )
    parser.add_argument("--chain-only", action="store_true", help="check the hash chain only, not the signatures")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        keys = [load_public_key(Path(p).read_bytes()) for p in args.public_key]
        if args.export == "-":
            report = verify_export(sys.stdin, keys, chain_only=args.chain_only)
        else:
            with open(args.export, encoding="utf-8") as lines:
                report = verify_export(lines, keys, chain_only=args.chain_only)
    except (OSError, UnicodeDecodeError, ExportError) as exc:
        print(f"audit_verifier: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.__dict__, indent=2))
    else:
        print(report.summary(), file=sys.stdout if report.valid else sys.stderr)
        for note in report.notes:
            print(f"  note: {note}", file=sys.stderr)
    return 0 if report.valid else 4


if __name__ == "__main__":
    raise SystemExit(main())

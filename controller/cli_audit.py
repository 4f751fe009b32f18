"""CLI commands `agentplane audit verify | export | public-key`.

Layer: controller CLI (a gRPC client of the controller, plus offline checks). The
export is the format of docs/audit.md: a header, then every event as the exact
record that was hashed, then the tenant's signed heads; `audit verify --export`
checks such a file offline with `controller.audit_verifier`, the same code an
outsider runs as a standalone script.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from agentplane.cli.connect import add_connection_args, open_channel
from agentplane.rpc import unary
from agentplane.settings import load_settings
from agentplane.v1 import controller_pb2, controller_pb2_grpc
from controller.audit import hashed_record, hashed_timestamp
from controller.audit_signing import AuditSigner, load_signing_key
from controller.audit_verifier import EXPORT_FORMAT, ExportError, load_public_key, verify_export
from controller.config import ControllerSettings
from controller.convert import audit_from_proto

__all__ = ["register_audit"]


def register_audit(sub: Any) -> None:
    """Add `audit verify`, `audit export` and `audit public-key`."""
    audit = sub.add_parser("audit", help="verify or export your tenant's audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser("verify", help="recompute the hash chain (on the server, or offline with --export)")
    verify.add_argument("--export", type=Path, default=None, help="verify this export file offline instead")
    verify.add_argument(
        "--public-key", type=Path, action="append", default=[], help="trusted public key, PEM (repeatable)"
    )
    verify.add_argument("--chain-only", action="store_true", help="with --export: skip the signatures")
    add_connection_args(verify)
    verify.set_defaults(func=_verify)
    export = asub.add_parser("export", help="write the trail and its signed heads as JSON lines (docs/audit.md)")
    export.add_argument("--task", default="", help="only this task's events (not verifiable as a chain)")
    export.add_argument("--out", default="-", help="file to write (default stdout)")
    add_connection_args(export)
    export.set_defaults(func=_export)
    public = asub.add_parser("public-key", help="print the controller's audit signing public key (PEM)")
    public.add_argument("--out", default="-", help="file to write (default stdout)")
    public.set_defaults(func=_public_key)


async def _verify(args: argparse.Namespace) -> int:
    if args.export is not None:
        return _verify_offline(args.export, args.public_key, args.chain_only)
    channel = open_channel(args, "controller")
    async with channel:
        stub = controller_pb2_grpc.TaskControllerStub(channel.channel)
        verdict = await unary(stub.VerifyAuditTrail, controller_pb2.VerifyAuditTrailRequest(), timeout_s=args.timeout)
    if verdict.valid:
        print(f"audit trail valid: {verdict.events_checked} events, head {verdict.head_hash}")
        return 0
    print(f"audit trail BROKEN at sequence {verdict.first_bad_sequence}: {verdict.problem}", file=sys.stderr)
    return 4


def _verify_offline(export: Path, key_files: list[Path], chain_only: bool) -> int:
    try:
        keys = [load_public_key(path.read_bytes()) for path in key_files]
        with export.open(encoding="utf-8") as lines:
            report = verify_export(lines, keys, chain_only=chain_only)
    except (OSError, UnicodeDecodeError, ExportError) as exc:
        print(f"agentplane: cannot verify {export}: {exc}", file=sys.stderr)
        return 2
    print(report.summary(), file=sys.stdout if report.valid else sys.stderr)
    for note in report.notes:
        print(f"  note: {note}", file=sys.stderr)
    return 0 if report.valid else 4


async def _events(
    stub: controller_pb2_grpc.TaskControllerStub, task_id: str, up_to: int, timeout_s: float
) -> AsyncIterator[controller_pb2.AuditEvent]:
    after = 0
    while True:
        request = controller_pb2.GetAuditTrailRequest(task_id=task_id, after_sequence=after, page_size=1000)
        page = await unary(stub.GetAuditTrail, request, timeout_s=timeout_s)
        for event in page.events:
            if event.sequence > up_to:
                return
            yield event
        if not page.next_after_sequence:
            return
        after = page.next_after_sequence


async def _signed_heads(
    stub: controller_pb2_grpc.TaskControllerStub, up_to: int, timeout_s: float
) -> AsyncIterator[controller_pb2.SignedAuditHead]:
    after = 0
    while True:
        request = controller_pb2.ListSignedAuditHeadsRequest(after_sequence=after, page_size=1000)
        page = await unary(stub.ListSignedAuditHeads, request, timeout_s=timeout_s)
        for head in page.heads:
            if head.sequence <= up_to:
                yield head
        if not page.next_after_sequence:
            return
        after = page.next_after_sequence


def _line(out: IO[str], doc: dict[str, Any]) -> None:
    out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")


async def _export(args: argparse.Namespace) -> int:
    channel = open_channel(args, "controller")
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115, ASYNC230 - a CLI; closed below
    events = heads = 0
    try:
        async with channel:
            stub = controller_pb2_grpc.TaskControllerStub(channel.channel)
            # Sign the head first, then export exactly up to it (it also names the tenant).
            head = await unary(stub.SignAuditHead, controller_pb2.SignAuditHeadRequest(), timeout_s=args.timeout)
            header = {
                "kind": "header",
                "format": EXPORT_FORMAT,
                "tenant": json.loads(head.statement_json)["tenant"],
                "task_id": args.task,
                "exported_at": hashed_timestamp(datetime.now(UTC)),
            }
            _line(out, header)
            async for message in _events(stub, args.task, head.sequence, args.timeout):
                event = audit_from_proto(message)
                _line(out, {"kind": "event", "record": hashed_record(event), "prev_hash": event.prev_hash,
                            "hash": event.hash})  # fmt: skip
                events += 1
            if not args.task:  # signed heads only make sense with the whole chain
                async for signed in _signed_heads(stub, head.sequence, args.timeout):
                    _line(out, {"kind": "anchor", "statement": json.loads(signed.statement_json),
                                "signature": signed.signature})  # fmt: skip
                    heads += 1
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"exported {events} audit events and {heads} signed heads", file=sys.stderr)
    return 0


def _public_key(args: argparse.Namespace) -> int:
    settings = load_settings(ControllerSettings, "controller")
    signer = AuditSigner(load_signing_key(settings.audit.signing_key_file, settings.data_dir))
    pem = signer.public_key_pem()
    if args.out == "-":
        sys.stdout.write(pem)
    else:
        Path(args.out).write_text(pem)
    print(f"key id {signer.key_id}", file=sys.stderr)
    return 0

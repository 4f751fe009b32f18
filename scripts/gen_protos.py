"""Generate the Python, gRPC and typing stubs for protos/ into agentplane/v1/.

Run by `make gen` (and so by `make run` / `make test`). With `--check`, generate into a
temporary directory and exit 1 when any committed stub differs from its `.proto`.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("agentplane") / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def _protos() -> list[Path]:
    return sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))


def _init_text(protos: list[Path]) -> str:
    digest = hashlib.sha256()
    for proto in protos:
        digest.update(proto.name.encode() + b"\0" + proto.read_bytes())
    return (
        '"""Generated protobuf and gRPC stubs for agentplane.v1. Do not edit.\n\n'
        "Regenerate with `make gen` (scripts/gen_protos.py); "
        f"inputs sha256 {digest.hexdigest()}.\n"
        '"""\n'
    )


def generate(out_root: Path) -> list[Path]:
    """Run grpc_tools.protoc for every proto; return the files written under out_root."""
    from grpc_tools import protoc  # dev-time dependency, imported only here

    protos = _protos()
    include = Path(protoc.__file__).parent / "_proto"
    out = str(out_root)
    # mypy-protobuf's plugins type the messages and the grpc stubs (grpcio-tools' own
    # --pyi_out covers messages only, so servicers and stubs would be untyped).
    bin_dir = Path(sys.executable).parent
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--mypy_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out={out}",
        *(str(p) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    pkg = out_root / PACKAGE_DIR
    (pkg / "__init__.py").write_text(_init_text(protos))
    return sorted(p for p in pkg.iterdir() if p.is_file())


def _generated_files(pkg: Path) -> set[str]:
    return {p.name for p in pkg.iterdir() if p.name == "__init__.py" or p.name.endswith(GENERATED_SUFFIXES)}


def check() -> int:
    """Return 0 when agentplane/v1 matches a fresh generation, else print the drift and return 1."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh, current = Path(tmp) / PACKAGE_DIR, ROOT / PACKAGE_DIR
        want, have = _generated_files(fresh), _generated_files(current) if current.exists() else set()
        stale = sorted(want ^ have) + sorted(
            n for n in want & have if not filecmp.cmp(fresh / n, current / n, shallow=False)
        )
    if stale:
        print("stale generated stubs (run `make gen`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed stubs are stale")
    ns = parser.parse_args()
    if ns.check:
        return check()
    target = ROOT / PACKAGE_DIR
    for old in target.glob("*_pb2*.py*"):
        old.unlink()
    generate(ROOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

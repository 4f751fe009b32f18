"""Generated stubs are never stale against their .proto files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_committed_stubs_match_the_protos():
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_stubs_import_as_documented():
    from agentplane.v1 import controller_pb2, controller_pb2_grpc

    assert controller_pb2.DESCRIPTOR.package == "agentplane.v1"
    assert hasattr(controller_pb2_grpc, "TaskControllerStub")

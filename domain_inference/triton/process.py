"""The tritonserver bundled in the nvidia-pytriton wheel: where it is, its backend dir, command and env.

Layer: deployment tooling. Follows the verified recipe (shared notes, "Triton on a CPU-only
host"): the wheel's Python backend stub is not in `backends/python`, so a separate backend
directory gets symlinks (a copied stub cannot resolve its RPATH); `LD_LIBRARY_PATH` must start
with this interpreter's LIBDIR (else the stub loads the system libpython); `PATH` must start
with the venv's `bin` (else the stub's Python does not see numpy/onnxruntime); and every
endpoint binds an explicit loopback address.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from domain_inference.config import TritonServerSettings

__all__ = ["TritonInstall", "find_install", "prepare_backend_dir", "server_command", "server_env"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TritonInstall:
    """Paths of the bundled server and of this interpreter.

    Attributes:
        binary: `tritonserver`.
        python_backend: The wheel's `backends/python` directory.
        stub: The Python backend stub built for this interpreter's version.
        libdir: This interpreter's LIBDIR (holds its libpython).
        venv_bin: Directory of this interpreter (the venv's `bin`).
    """

    binary: Path
    python_backend: Path
    stub: Path
    libdir: Path
    venv_bin: Path


def find_install() -> TritonInstall:
    """Locate the bundled tritonserver for this interpreter.

    Raises:
        FileNotFoundError: nvidia-pytriton is not installed or lacks a part; the message
            names the missing path.
        RuntimeError: This interpreter is not a shared build (the stub needs libpython).
    """
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError('nvidia-pytriton is not installed: pip install "nvidia-pytriton==0.7.0" "numpy<2"')
    root = Path(next(iter(spec.submodule_search_locations))) / "tritonserver"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    install = TritonInstall(
        binary=root / "bin" / "tritonserver",
        python_backend=root / "backends" / "python",
        stub=root / "python_backend_stubs" / version / "triton_python_backend_stub",
        libdir=Path(str(sysconfig.get_config_var("LIBDIR"))),
        venv_bin=Path(sys.executable).parent,
    )
    for path in (install.binary, install.python_backend / "libtriton_python.so", install.stub):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing from the nvidia-pytriton wheel (Python {version})")
    if sysconfig.get_config_var("Py_ENABLE_SHARED") != 1:
        raise RuntimeError(
            f"{sys.executable} is not a shared build (Py_ENABLE_SHARED=0); Triton's Python backend stub needs "
            "libpython: use an interpreter built with --enable-shared"
        )
    return install


def prepare_backend_dir(install: TritonInstall, backend_dir: Path) -> Path:
    """Create `backend_dir/python` with symlinks to the wheel's backend and the stub.

    Args:
        install: The located server.
        backend_dir: Directory to pass as --backend-directory (created).

    Returns:
        `backend_dir`.
    """
    python_dir = backend_dir / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    links = {
        "libtriton_python.so": install.python_backend / "libtriton_python.so",
        "triton_python_backend_utils.py": install.python_backend / "triton_python_backend_utils.py",
        "triton_python_backend_stub": install.stub,
    }
    for name, target in links.items():
        link = python_dir / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    return backend_dir


def server_command(
    install: TritonInstall, repository: Path, backend_dir: Path, settings: TritonServerSettings
) -> list[str]:
    """The tritonserver argv: loopback endpoints, no auto-complete, explicit exit timeout."""
    return [
        str(install.binary),
        f"--model-repository={repository}",
        f"--backend-directory={backend_dir}",
        "--disable-auto-complete-config",
        f"--http-address={settings.host}",
        f"--http-port={settings.http_port}",
        f"--grpc-address={settings.host}",
        f"--grpc-port={settings.grpc_port}",
        f"--metrics-address={settings.host}",
        f"--metrics-port={settings.metrics_port}",
        f"--exit-timeout-secs={settings.exit_timeout_s}",
        f"--log-verbose={settings.log_verbose}",
        f"--backend-config=python,shm-default-byte-size={settings.shm_default_bytes}",
        f"--backend-config=python,shm-growth-byte-size={settings.shm_growth_bytes}",
    ]


def _prepend(value: str, existing: str | None) -> str:
    parts = [value, *(p for p in (existing or "").split(os.pathsep) if p and p != value)]
    return os.pathsep.join(parts)


def server_env(install: TritonInstall, base: Mapping[str, str]) -> dict[str, str]:
    """The environment tritonserver and its stubs need, on top of `base`.

    LD_LIBRARY_PATH starts with LIBDIR, PATH with the venv's bin, and PYTHONPATH with the
    project root so the generated model.py files can import `domain_inference`.
    """
    env = dict(base)
    env["LD_LIBRARY_PATH"] = _prepend(str(install.libdir), base.get("LD_LIBRARY_PATH"))
    env["PATH"] = _prepend(str(install.venv_bin), base.get("PATH"))
    env["PYTHONPATH"] = _prepend(str(_PACKAGE_ROOT), base.get("PYTHONPATH"))
    return env

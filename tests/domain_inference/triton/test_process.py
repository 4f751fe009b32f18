"""The bundled tritonserver is found; its backend dir, command and environment follow the notes' recipe."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from domain_inference.config import TritonServerSettings
from domain_inference.triton.process import find_install, prepare_backend_dir, server_command, server_env


def test_install_found_for_this_interpreter() -> None:
    install = find_install()
    assert install.binary.is_file() and os.access(install.binary, os.X_OK)
    assert install.stub.parent.name == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert install.libdir == Path(str(sysconfig.get_config_var("LIBDIR")))


def test_backend_dir_holds_symlinks_and_is_idempotent(tmp_path: Path) -> None:
    install = find_install()
    backend = prepare_backend_dir(install, tmp_path / "backends")
    prepare_backend_dir(install, tmp_path / "backends")
    python_dir = backend / "python"
    names = sorted(p.name for p in python_dir.iterdir())
    assert names == ["libtriton_python.so", "triton_python_backend_stub", "triton_python_backend_utils.py"]
    assert all((python_dir / n).is_symlink() for n in names), "a copied stub cannot resolve its RPATH"
    assert (python_dir / "triton_python_backend_stub").resolve() == install.stub.resolve()


def test_command_binds_loopback_only() -> None:
    install = find_install()
    argv = server_command(
        install, Path("/r"), Path("/b"), TritonServerSettings(http_port=1, grpc_port=2, metrics_port=3)
    )
    assert "--http-address=127.0.0.1" in argv and "--grpc-address=127.0.0.1" in argv
    assert "--metrics-address=127.0.0.1" in argv and "--disable-auto-complete-config" in argv
    assert {"--http-port=1", "--grpc-port=2", "--metrics-port=3"} <= set(argv)


def test_env_puts_libdir_and_venv_bin_first() -> None:
    install = find_install()
    env = server_env(install, {"PATH": "/usr/bin", "LD_LIBRARY_PATH": "/opt/lib", "HOME": "/root"})
    assert env["LD_LIBRARY_PATH"].split(os.pathsep)[:2] == [str(install.libdir), "/opt/lib"]
    assert env["PATH"].split(os.pathsep)[:2] == [str(install.venv_bin), "/usr/bin"]
    assert (Path(env["PYTHONPATH"].split(os.pathsep)[0]) / "domain_inference").is_dir()
    assert env["HOME"] == "/root"

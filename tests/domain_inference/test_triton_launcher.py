"""The launcher: clear failure without artifacts; dynamic batching off really runs one request per execution."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import psutil  # type: ignore[import-untyped]
import tritonclient.grpc.aio as triton_aio
from tritonclient.grpc import InferInput, InferRequestedOutput

from domain_inference.adapters.triton import TritonBackend
from domain_inference.config import TritonClientSettings
from tests.domain_inference.triton_support import TritonUnderTest, settled_statistics


def test_missing_artifacts_exit_with_the_build_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPLANE_")}
    env["AGENTPLANE_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "domain_inference.triton_launcher", "--grpc-port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "agentplane models build" in result.stderr


async def test_without_dynamic_batching_every_request_is_its_own_execution(artifacts_dir: Path, tmp_path: Path) -> None:
    triton = TritonUnderTest(artifacts_dir, tmp_path, dynamic_batching=False)
    await asyncio.to_thread(triton.start)
    try:
        client = triton_aio.InferenceServerClient(url=triton.grpc_address)
        config = (await client.get_model_config("encoder", as_json=True))["config"]
        assert "dynamic_batching" not in config
        stats = TritonBackend(triton.grpc_address, TritonClientSettings())
        await stats.start()

        async def one(text: str) -> None:
            data = InferInput("text", [1, 1], "BYTES").set_data_from_numpy(np.array([[text.encode()]], dtype=object))
            await client.infer("text-encoder", [data], outputs=[InferRequestedOutput("sentence_embedding")])

        await asyncio.gather(*(one(f"headline number {i}") for i in range(16)))
        encoder = await settled_statistics(stats, "encoder", requests=16)
        await stats.aclose()
        await client.close()
        assert encoder.inferences == 16 and encoder.executions == 16
        assert triton.process is not None
        server = psutil.Process(triton.process.pid).children()[0]
        assert server.name() == "tritonserver"
        triton.process.kill()  # a launcher killed outright must not leave tritonserver behind
        gone, _ = await asyncio.to_thread(psutil.wait_procs, [server], 60)
        assert gone, "tritonserver outlived its launcher"
    finally:
        await asyncio.to_thread(triton.stop)

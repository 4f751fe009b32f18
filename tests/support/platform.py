"""The whole platform, really started by `agentplane up`, for end-to-end tests.

Every process runs as in production, supervised by `agentplane up`: Triton, the four
services, plus two stand-ins for the outside world: the fake LLM provider (instead of
llama.cpp, so answers are fast and deterministic) and a small page site (instead of
the web: `up`'s own sample site, on a free port). Every port is chosen free on
127.0.0.1; the realtime SSRF guard allows 127.0.0.1 explicitly, so tests can also
reach sites of their own.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from agentplane.platform import Credentials, load_credentials
from tests.support.ports import free_ports

ROOT = Path(__file__).parents[2]
SERVICES = ("controller", "gateway", "domain_inference", "realtime")


@dataclass
class Platform:
    """A running platform and how to reach it."""

    data_dir: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes]
    config: Path
    credentials: Credentials = field(init=False)
    up_line: str = ""
    """The line `agentplane up` printed once everything was up (endpoints and the console's link)."""

    def __post_init__(self) -> None:
        self.credentials = load_credentials(self.data_dir)

    def address(self, service: str) -> str:
        """host:port of a service's gRPC endpoint."""
        return f"127.0.0.1:{self.ports[service]}"

    def key(self, name: str) -> str:
        """The raw API key called `name` (acme-user, acme-reviewer, globex-user, ...)."""
        return self.credentials.key_for(name)

    def pid(self, process: str) -> int:
        """PID of a supervised process (from `.agentplane/run/<name>.pid`)."""
        return int((self.data_dir / "run" / f"{process}.pid").read_text())

    def metrics_url(self, service: str) -> str:
        """URL of a service's /metrics endpoint."""
        return f"http://127.0.0.1:{self.ports[f'metrics_{service}']}/metrics"

    @property
    def console_url(self) -> str:
        """The review console's URL (ends with /)."""
        return f"http://127.0.0.1:{self.ports['console']}/"

    @property
    def pages_url(self) -> str:
        """Base URL of the page site."""
        return f"http://127.0.0.1:{self.ports['pages']}"

    @property
    def llm_url(self) -> str:
        """Base URL of the fake LLM provider."""
        return f"http://127.0.0.1:{self.ports['llm']}/v1"

    def env(self) -> dict[str, str]:
        """Environment for CLI commands and other processes that join this platform."""
        return {**os.environ, "AGENTPLANE_CONFIG": str(self.config), "PYTHONPATH": str(ROOT)}


def _llm_config(ports: dict[str, int], embedded: bool) -> str:
    port = ports["llm"]
    if embedded:  # the real default: llama.cpp serving SmolLM2-135M
        process = f'[llm]\nport = {port}\n\n[up.processes.llm]\nhealth_url = "http://127.0.0.1:{port}/v1/models"'
        deployment = 'name = "local-smollm2"\nmodel = "smollm2-135m-instruct"\ntimeout_s = 120'
    else:
        process = (
            f'[up.processes.llm]\nmodule = "tests.support.fake_llm"\nargs = ["--port", "{port}"]\n'
            f'health_url = "http://127.0.0.1:{port}/v1/models"'
        )
        deployment = 'name = "fake-on-prem"\nmodel = "fake-model"\ntimeout_s = 10'
    return f"""{process}

[gateway.models.general]
system_prompt = "You are a test assistant."
[[gateway.models.general.deployments]]
{deployment}
provider = "openai"
base_url = "http://127.0.0.1:{port}/v1"
residency = "on_prem"

[gateway.models.embed]
embeddings = true
[[gateway.models.embed.deployments]]
name = "local-embed"
provider = "openai"
model = "embed"
base_url = "http://127.0.0.1:{port}/v1"
residency = "on_prem"
"""


def write_config(
    data_dir: Path, ports: dict[str, int], models_dir: Path, extra: str = "", *, embedded_llm: bool = False
) -> Path:
    """The TOML configuration of a test platform (fake LLM unless `embedded_llm`)."""

    def q(value: object) -> str:
        return json.dumps(str(value))

    endpoints = "\n".join(f"{s} = [{q(f'127.0.0.1:{ports[s]}')}]" for s in (*SERVICES, "console"))
    metrics = "\n".join(f"{s} = [{q('127.0.0.1:' + str(ports['metrics_' + s]))}]" for s in SERVICES)
    text = f"""
data_dir = {q(data_dir)}

[endpoints]
{endpoints}

[endpoints.metrics]
{metrics}

[log]
level = "warning"

[up]
stop_grace_s = 20
sample_site_port = {ports["pages"]}

{_llm_config(ports, embedded_llm)}

[up.processes.triton]
health_url = "http://127.0.0.1:{ports["triton_http"]}/v2/health/ready"

[domain_inference]
models_dir = {q(models_dir)}

[domain_inference.triton]
http_port = {ports["triton_http"]}
grpc_port = {ports["triton_grpc"]}
metrics_port = {ports["triton_metrics"]}

[gateway.http]
port = {ports["gateway_http"]}

[realtime.ssrf]
allow = ["127.0.0.1/32"]

[realtime.politeness.default]
max_concurrent = 16
min_delay_s = 0.0
{extra}
"""
    path = data_dir / "agentplane.toml"
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def start_platform(
    data_dir: Path, models_dir: Path, *, extra_config: str = "", embedded_llm: bool = False, timeout_s: float = 240.0
) -> Platform:
    """Run `agentplane up` with a test configuration; return once it says it is up.

    Raises:
        RuntimeError: It exited or did not come up in time (with the tail of its output).
    """
    names = [*SERVICES, "console", "llm", "pages", "gateway_http", "triton_http", "triton_grpc", "triton_metrics"]
    names += [f"metrics_{s}" for s in SERVICES]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    config = write_config(data_dir, ports, models_dir, extra_config, embedded_llm=embedded_llm)
    env = {**os.environ, "AGENTPLANE_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "agentplane.cli", "up", "--quiet"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            line = process.stdout.readline().decode(errors="replace")
            if not line:
                break
            output.append(line)
            if line.startswith("agentplane is up"):
                return Platform(data_dir, ports, process, config, up_line=line.strip())
        elif process.poll() is not None:
            break
    stop_platform_process(process)
    logs = "".join(output[-40:])
    raise RuntimeError(f"agentplane up did not come up (exit {process.returncode}):\n{logs}")


def stop_platform_process(process: subprocess.Popen[bytes], timeout_s: float = 90.0) -> int:
    """SIGTERM `agentplane up` and wait for it; return its exit code (SIGKILL only if it hangs)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return process.returncode

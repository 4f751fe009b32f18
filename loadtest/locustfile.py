"""Locust users for agentplane over gRPC.

- `ControllerUser`: submits tasks to the TaskController in the configured mix
  (default 70% domain, 20% LLM, 10% real-time) as several tenants.
- `GatewayUser`, `DomainUser`, `RealtimeUser`: one downstream service each, for
  isolated runs.

Run headless (CSV and HTML reports): `python -m loadtest.run --help`.
"""

from __future__ import annotations

import random
import tomllib
from pathlib import Path
from typing import Any

from locust import LoadTestShape, between, events, task

from agentplane.v1 import (
    controller_pb2,
    controller_pb2_grpc,
    gateway_pb2,
    gateway_pb2_grpc,
    inference_pb2,
    inference_pb2_grpc,
    realtime_pb2,
    realtime_pb2_grpc,
)
from loadtest.grpc_user import GrpcUser
from loadtest.shapes import scenario_stages
from loadtest.task_mix import DOMAIN_TEXTS, LLM_TEXTS, TaskMix

__all__ = ["ControllerUser", "DomainUser", "GatewayUser", "RealtimeUser", "ScenarioShape"]


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--credentials", default=".agentplane/credentials.toml", help="raw keys (credentials.toml)")
    parser.add_argument("--key-names", default="acme-user,globex-user", help="keys to spread users over (tenants)")
    parser.add_argument("--mix", default="domain=70,llm=20,realtime=10", help="task mix for ControllerUser")
    parser.add_argument("--realtime-base-url", default="http://127.0.0.1:8090", help="page server for real-time tasks")
    parser.add_argument("--scenario", default="steady", choices=["steady", "spike", "soak"])
    parser.add_argument("--peak-users", type=int, default=20)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--call-timeout-s", type=float, default=30.0)
    parser.add_argument("--tls-ca-file", default="", help="CA (PEM) of the services' certificates: call over TLS")
    parser.add_argument("--tls-cert-file", default="", help="client certificate (PEM) for mutual TLS")
    parser.add_argument("--tls-key-file", default="", help="its private key (PEM)")
    parser.add_argument("--tls-server-name", default="", help="name in the server certificate, if not the host")


def _keys(options: Any) -> list[str]:
    doc = tomllib.loads(Path(options.credentials).read_text())
    names = [n.strip() for n in options.key_names.split(",") if n.strip()]
    return [doc["keys"][n]["key"] for n in names]


class _AgentplaneUser(GrpcUser):
    abstract = True
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.rng = random.Random()
        self.api_key = self.rng.choice(_keys(options))
        self.timeout_s = options.call_timeout_s


class ControllerUser(_AgentplaneUser):
    """Submits tasks in the configured mix and waits for each outcome."""

    stub_class = controller_pb2_grpc.TaskControllerStub

    def on_start(self) -> None:
        super().on_start()
        options = self.environment.parsed_options
        self.mix = TaskMix.parse(options.mix, options.realtime_base_url)

    @task
    def submit(self) -> None:
        sample = self.mix.sample(self.rng)
        request = controller_pb2.SubmitTaskRequest(text=sample.text, task_type=sample.task_type, urls=sample.urls)
        reply = self.call(f"SubmitTask[{sample.kind}]", self.stub.SubmitTask, request)
        if reply is not None and reply.state in (controller_pb2.TASK_STATE_RECEIVED, controller_pb2.TASK_STATE_RUNNING):
            # Not settled within the deadline: still accepted; the report counts these separately.
            events.request.fire(
                request_type="outcome", name="unsettled", response_time=0, response_length=0, exception=None
            )


class GatewayUser(_AgentplaneUser):
    """Chat completions against the gateway alone."""

    stub_class = gateway_pb2_grpc.LLMGatewayStub

    @task
    def complete(self) -> None:
        request = gateway_pb2.CompleteRequest(
            model="general",
            messages=[gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_USER, content=self.rng.choice(LLM_TEXTS))],
            max_tokens=32,
        )
        self.call("Complete", self.stub.Complete, request)


class DomainUser(_AgentplaneUser):
    """Classification against domain inference alone."""

    stub_class = inference_pb2_grpc.DomainInferenceStub

    @task
    def classify(self) -> None:
        request = inference_pb2.ClassifyRequest(model="news-topic", texts=[self.rng.choice(DOMAIN_TEXTS)])
        self.call("Classify", self.stub.Classify, request)


class RealtimeUser(_AgentplaneUser):
    """Fetches against the realtime service alone."""

    stub_class = realtime_pb2_grpc.RealtimeDataStub

    @task
    def fetch(self) -> None:
        base = self.environment.parsed_options.realtime_base_url.rstrip("/")
        url = base + self.rng.choice(("/rates.html", "/news.html", "/policy.html"))
        self.call("Fetch", self.stub.Fetch, realtime_pb2.FetchRequest(url=url))


class ScenarioShape(LoadTestShape):
    """Drives users through the chosen scenario's stages; stops at its end."""

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        if options is None:
            return None
        elapsed = self.get_run_time()
        for stage in scenario_stages(options.scenario, options.peak_users, options.duration_s):
            if elapsed < stage.until_s:
                return stage.users, stage.spawn_rate
        return None

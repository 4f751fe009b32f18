"""The whole platform over mutual TLS: `agentplane up` with a throwaway CA, every service its own certificate.

The controller reaches the gateway, domain inference and real-time over mTLS (each admits only the
controller's identity); the supervisor's health probes, `agentplane status` and clients present
the `operator` certificate. A client without a certificate, or with one from another CA, is refused
with a clear error; a valid certificate whose identity a service does not list is refused by name.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentplane.errors import PermissionDeniedError, UnavailableError
from agentplane.rpc import ServiceChannel, unary
from agentplane.settings import ClientSettings, ClientTlsSettings
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from agentplane.v1 import controller_pb2_grpc, gateway_pb2, gateway_pb2_grpc
from tests.controller.test_e2e import ARTICLE
from tests.support.models import models_dir
from tests.support.pki import Pki, platform_tls_config
from tests.support.platform import ROOT, Platform, start_platform, stop_platform_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_platform(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Platform]:
    scratch = tmp_path_factory.mktemp("tls-platform")
    running = start_platform(scratch / "data", models_dir(scratch), extra_config=platform_tls_config(pki))
    try:
        yield running
    finally:
        assert stop_platform_process(running.process) == 0


async def _submit(platform: Platform, tls: ClientTlsSettings, **fields: object) -> C.Task:
    client = ClientSettings(tls=tls)
    async with ServiceChannel([platform.address("controller")], client, api_key=platform.key("acme-user")) as ch:
        stub = controller_pb2_grpc.TaskControllerStub(ch.channel)
        return await unary(stub.SubmitTask, C.SubmitTaskRequest(**fields), timeout_s=60)


async def test_tasks_cross_every_service_over_mutual_tls(tls_platform: Platform, pki: Pki):
    operator = pki.client_tls("operator")
    domain = await _submit(tls_platform, operator, text=f"Classify this article: {ARTICLE}", task_type="classify")
    assert domain.state == C.TASK_STATE_COMPLETED, domain
    assert domain.result.data["label"] == "business"
    general = await _submit(tls_platform, operator, text="Explain what a bond is.", task_type="general")
    assert general.result.steps and general.result.steps[0].status == C.STEP_STATUS_SUCCEEDED, general
    status = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "agentplane.cli", "status"],
        env=tls_platform.env(), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("SERVING") == 4


async def test_clients_without_a_good_certificate_are_refused_clearly(tls_platform: Platform, pki: Pki, tmp_path: Path):
    with pytest.raises(UnavailableError, match="TLS handshake fails") as caught:
        await _submit(tls_platform, pki.client_tls(None), text="hello", task_type="general")
    assert "client certificate" in caught.value.message
    stranger = Pki.create(tmp_path / "other", "another CA").client_tls("operator", trust=pki.ca_file)
    with pytest.raises(UnavailableError, match="TLS handshake"):
        await _submit(tls_platform, stranger, text="hello", task_type="general")


async def test_an_internal_service_refuses_identities_other_than_the_controller(tls_platform: Platform, pki: Pki):
    client = ClientSettings(tls=pki.client_tls("operator"))
    async with ServiceChannel([tls_platform.address("gateway")], client, api_key=tls_platform.key("acme-user")) as ch:
        stub = gateway_pb2_grpc.LLMGatewayStub(ch.channel)
        request = gateway_pb2.CompleteRequest(
            model="general", messages=[gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_USER, content="hi")]
        )
        with pytest.raises(PermissionDeniedError, match=r"identity \(operator, .*allowed: controller"):
            await unary(stub.Complete, request, timeout_s=30)

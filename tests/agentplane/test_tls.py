"""TLS and mutual TLS between agentplane processes, on real gRPC servers with a throwaway CA.

The CA and certificates are made here with `cryptography` (agentplane.certs). A server with a
client CA refuses clients without a certificate and clients whose certificate another CA
signed; its allow-list refuses identities it does not name; plaintext off loopback warns or,
when asked to, refuses to start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentplane.errors import PermissionDeniedError, UnavailableError
from agentplane.rpc import ServiceChannel, unary
from agentplane.settings import ClientSettings, ClientTlsSettings, ServerTlsSettings, ServiceSettings, SettingsError
from agentplane.supervisor import grpc_health_status
from tests.agentplane.probe_service import SERVICE, build
from tests.support.keys import raw_key
from tests.support.pki import Pki
from tests.support.ports import free_ports
from tests.support.servers import running
from tests.support.settings import test_settings


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("other-pki"), "another CA")


def _server_tls(pki: Pki, name: str, *, allowed: tuple[str, ...] = (), mutual: bool = True) -> dict[str, Any]:
    tls = pki.listener_tls(name, mutual=mutual)
    return {**tls, "allowed_client_identities": list(allowed)} if allowed else tls


async def _echo(address: str, tls: ClientTlsSettings) -> dict[str, Any]:
    async with ServiceChannel([address], ClientSettings(tls=tls), api_key=raw_key("acme-user")) as ch:
        echo = ch.channel.unary_unary(f"/{SERVICE}/Echo")
        return json.loads(await unary(echo, b"{}", timeout_s=10))


def _server(tmp_path: Path, tls: dict[str, Any], **server: Any):
    settings = test_settings(ServiceSettings, "probe", tmp_path, server={"tls": tls, **server})
    return build(settings)[0]


async def test_mutual_tls_admits_a_client_with_a_certificate_of_the_ca(pki: Pki, tmp_path: Path):
    async with running(_server(tmp_path, _server_tls(pki, "localhost", allowed=("controller",)))) as address:
        answer = await _echo(address, pki.client_tls("controller"))
    assert answer["tenant"] == "acme"


async def test_a_client_without_a_certificate_is_refused_with_a_clear_error(pki: Pki, tmp_path: Path):
    async with running(_server(tmp_path, _server_tls(pki, "localhost"))) as address:
        with pytest.raises(UnavailableError, match="TLS handshake") as caught:
            await _echo(address, pki.client_tls(None))
    assert "client certificate" in caught.value.message


async def test_a_client_with_a_certificate_from_another_ca_is_refused(pki: Pki, other_pki: Pki, tmp_path: Path):
    async with running(_server(tmp_path, _server_tls(pki, "localhost"))) as address:
        # It trusts the server (our CA) but presents a certificate the server's CA did not sign.
        stranger = other_pki.client_tls("controller", trust=pki.ca_file)
        with pytest.raises(UnavailableError, match="TLS handshake"):
            await _echo(address, stranger)


async def test_a_client_that_does_not_trust_the_server_is_refused(pki: Pki, other_pki: Pki, tmp_path: Path):
    async with running(_server(tmp_path, _server_tls(pki, "localhost", mutual=False))) as address:
        with pytest.raises(UnavailableError, match="TLS handshake"):
            await _echo(address, other_pki.client_tls(None))


async def test_an_identity_outside_the_allow_list_is_refused_by_name(pki: Pki, tmp_path: Path):
    async with running(_server(tmp_path, _server_tls(pki, "localhost", allowed=("controller",)))) as address:
        with pytest.raises(PermissionDeniedError) as caught:
            await _echo(address, pki.client_tls("intruder"))
    assert caught.value.reason == "PEER_IDENTITY_NOT_ALLOWED"
    assert "identity (intruder," in caught.value.message and "allowed: controller" in caught.value.message


async def test_a_plaintext_client_cannot_call_a_tls_server(pki: Pki, tmp_path: Path):
    async with running(_server(tmp_path, _server_tls(pki, "localhost", mutual=False))) as address:
        with pytest.raises(UnavailableError):
            await _echo(address, ClientTlsSettings())


async def test_the_health_port_answers_plaintext_probes_while_the_service_port_needs_mtls(pki: Pki, tmp_path: Path):
    health_port = free_ports(1)[0]
    server = _server(tmp_path, _server_tls(pki, "localhost", allowed=("controller",)), health_port=health_port)
    async with running(server) as address:
        assert await grpc_health_status(f"127.0.0.1:{health_port}", SERVICE) == "SERVING"
        assert await grpc_health_status(address, SERVICE, tls=pki.client_tls("controller")) == "SERVING"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as ch:
            # Only health lives there: the service itself is not reachable in plaintext.
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await ch.unary_unary(f"/{SERVICE}/Echo")(b"{}", timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
            await server.grpc.set_serving(SERVICE, False)
            check = await health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=5
            )
    assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING  # the same statuses as the service port


def test_tls_settings_refuse_half_configurations():
    with pytest.raises(ValueError, match="cert_file and key_file go together"):
        ServerTlsSettings(cert_file=Path("a.crt"))
    with pytest.raises(ValueError, match="needs client_ca_file"):
        ServerTlsSettings(cert_file=Path("a.crt"), key_file=Path("a.key"), allowed_client_identities=("x",))
    with pytest.raises(ValueError, match="enabled is false"):
        ClientTlsSettings(ca_file=Path("ca.crt"))


async def test_plaintext_off_loopback_warns_or_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    # Nothing connects: binding 0.0.0.0 is only checked (warned) and then the server is stopped at once.
    with caplog.at_level(logging.WARNING, logger="agentplane.tls"):
        async with running(_server(tmp_path, {}, host="0.0.0.0")):
            pass
    assert "would listen on 0.0.0.0 without TLS" in caplog.text
    with pytest.raises(SettingsError, match=r"refused: tls\.refuse_plaintext_off_loopback"):
        await _server(tmp_path, {"refuse_plaintext_off_loopback": True}, host="0.0.0.0").start()


async def test_a_missing_certificate_file_is_named(tmp_path: Path):
    tls = {"cert_file": str(tmp_path / "nope.crt"), "key_file": str(tmp_path / "nope.key")}
    with pytest.raises(SettingsError, match=r"server tls\.key_file: cannot read .*nope\.key"):
        await _server(tmp_path, tls).start()

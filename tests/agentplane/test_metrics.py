"""The shared metrics core: bounded labels, RED metrics, the /metrics endpoint (auth, TLS), re-export, windows."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from agentplane.auth import ApiKeyStore, hash_key
from agentplane.errors import ResourceExhaustedError, UnauthenticatedError
from agentplane.metrics import (
    OTHER_TENANT,
    MetricsEndpoint,
    MetricsRegistry,
    ReexportedMetrics,
    RpcMetrics,
    Snapshot,
    TenantLabels,
    Window,
)
from agentplane.settings import ApiKeySettings, MetricsSettings
from tests.support.keys import auth_overrides, raw_key


def _keys() -> ApiKeyStore:
    keys = [ApiKeySettings.model_validate(k) for k in auth_overrides()["auth"]["keys"]]
    scraper = ApiKeySettings(name="prometheus", tenant="ops", sha256=hash_key("scraper"), roles=("metrics",))
    return ApiKeyStore([*keys, scraper])


async def _get(url: str, **kwargs: object) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.request("GET", url, **kwargs) as resp:  # type: ignore[arg-type]
        return resp.status, await resp.text()


def test_tenants_beyond_the_cap_share_one_label_value() -> None:
    labels = TenantLabels(2)
    assert [labels("acme"), labels("globex"), labels("initech"), labels("acme")] == [
        "acme",
        "globex",
        OTHER_TENANT,
        "acme",
    ]
    assert labels.known() == ("acme", "globex")


def test_per_request_identities_are_refused_as_labels() -> None:
    registry = MetricsRegistry("probe", process=False)
    for label in ("task_id", "url", "host", "trace_id"):
        with pytest.raises(ValueError, match="unbounded"):
            registry.counter(f"bad_{label}", "no", [label])


def test_series_names_cover_labelled_metrics_before_their_first_sample() -> None:
    registry = MetricsRegistry("probe", process=False)
    registry.counter("things", "d", ["kind"])
    registry.histogram("thing_seconds", "d", ["kind"])
    registry.scraped_gauge("depth", "d", [], lambda: [((), 3.0)])
    assert {
        "agentplane_things_total",
        "agentplane_thing_seconds_bucket",
        "agentplane_thing_seconds_count",
        "agentplane_thing_seconds_sum",
        "agentplane_depth",
        "agentplane_service_info",
    } <= registry.series_names()


def test_refusals_count_by_reason_and_tenant_limits_by_capped_tenant() -> None:
    registry = MetricsRegistry("probe", MetricsSettings(max_tenant_labels=1), process=False)
    rpc = RpcMetrics(registry)
    for tenant in ("acme", "globex", "initech"):
        rpc.refused("grpc", ResourceExhaustedError("slow down", reason="RATE_LIMITED", metadata={"tenant": tenant}))
    rpc.refused("http", UnauthenticatedError("who?", reason="API_KEY_MISSING"))
    rpc.refused("grpc", ResourceExhaustedError("full", reason="TASK_QUEUE_FULL", metadata={"subject": "controller:q"}))
    snap = Snapshot.parse(registry.render()[0].decode())
    assert snap.by("agentplane_admission_refusals_total", "reason") == {
        "RATE_LIMITED": 3.0,
        "API_KEY_MISSING": 1.0,
        "TASK_QUEUE_FULL": 1.0,
    }
    assert snap.by("agentplane_tenant_limit_refusals_total", "tenant") == {"acme": 1.0, OTHER_TENANT: 2.0}


def test_red_metrics_resolve_labels_once_and_count_by_code() -> None:
    registry = MetricsRegistry("probe", process=False)
    rpc = RpcMetrics(registry)
    method = rpc.grpc_method("/agentplane.v1.LLMGateway/Complete")
    assert rpc.grpc_method("/agentplane.v1.LLMGateway/Complete") is method
    for code in ("OK", "OK", "UNAVAILABLE"):
        method.finish(method.start(), code)
    started = method.start()
    snap = Snapshot.parse(registry.render()[0].decode())
    labels = {"grpc_service": "agentplane.v1.LLMGateway", "grpc_method": "Complete"}
    assert snap.by("agentplane_grpc_server_handled_total", "grpc_code", **labels) == {"OK": 2.0, "UNAVAILABLE": 1.0}
    assert snap.value("agentplane_grpc_server_handling_seconds_count", **labels) == 3.0
    assert snap.value("agentplane_grpc_server_in_flight", **labels) == 1.0
    method.finish(started, "OK")


def test_window_quantile_interpolates_like_promql() -> None:
    registry = MetricsRegistry("probe", process=False)
    hist = registry.histogram("lat_seconds", "d", buckets=(0.1, 0.2, 0.4))
    before = Snapshot.parse(registry.render()[0].decode(), taken_at=0.0)
    for value in [0.05] * 50 + [0.15] * 40 + [0.3] * 10:
        hist.observe(value)
    after = Snapshot.parse(registry.render()[0].decode(), taken_at=10.0)
    window = Window(before, after)
    assert window.rate("agentplane_lat_seconds_count") == 10.0
    assert window.quantile(0.5, "agentplane_lat_seconds") == pytest.approx(0.1)  # rank 50 = top of the first bucket
    assert window.quantile(0.9, "agentplane_lat_seconds") == pytest.approx(0.2)
    assert window.quantile(0.95, "agentplane_lat_seconds") == pytest.approx(0.3)  # halfway through 0.2..0.4
    assert Window(after, after).quantile(0.5, "agentplane_lat_seconds") is None


@pytest.fixture
async def endpoint(request: pytest.FixtureRequest) -> AsyncIterator[MetricsEndpoint]:
    settings = MetricsSettings(**getattr(request, "param", {}))
    served = MetricsEndpoint(settings, MetricsRegistry("probe", settings), _keys())
    await served.start()
    try:
        yield served
    finally:
        await served.aclose()


async def test_the_endpoint_serves_the_registry_on_loopback(endpoint: MetricsEndpoint) -> None:
    status, text = await _get(endpoint.url)
    assert status == 200
    assert 'agentplane_service_info{service="probe"} 1.0' in text
    assert "process_cpu_seconds_total" in text
    assert (await _get(endpoint.url.replace("/metrics", "/other")))[0] == 404


@pytest.mark.parametrize("endpoint", [{"require_key": True}], indirect=True)
async def test_a_required_key_must_carry_the_metrics_role(endpoint: MetricsEndpoint) -> None:
    assert (await _get(endpoint.url))[0] == 401
    user = {"Authorization": f"Bearer {raw_key('acme-user')}"}
    assert (await _get(endpoint.url, headers=user))[0] == 403
    assert (await _get(endpoint.url, headers={"Authorization": "Bearer scraper"}))[0] == 200
    assert (await _get(endpoint.url, headers={"x-api-key": raw_key("admin")}))[0] == 200


def test_metrics_beyond_loopback_need_a_key_or_tls() -> None:
    with pytest.raises(ValidationError, match="beyond loopback"):
        MetricsSettings(host="0.0.0.0")
    assert MetricsSettings(host="0.0.0.0", require_key=True).require_key
    with pytest.raises(ValidationError, match="go together"):
        MetricsSettings(tls_cert_file=Path("cert.pem"))


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


async def test_the_endpoint_serves_tls_when_configured(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    settings = MetricsSettings(tls_cert_file=cert_file, tls_key_file=key_file)
    served = MetricsEndpoint(settings, MetricsRegistry("probe", settings, process=False))
    await served.start()
    try:
        assert served.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert_file))
        status, text = await _get(served.url, ssl=trusted)
        assert status == 200 and "agentplane_service_info" in text
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await _get(served.url)  # not trusted by default
    finally:
        await served.aclose()


async def test_another_endpoints_metrics_are_reexported_with_an_up_gauge() -> None:
    text = '# TYPE nv_inference_count counter\nnv_inference_count{model="encoder"} 7\n'

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=text)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    registry = MetricsRegistry("probe", process=False)
    other = ReexportedMetrics(registry, "other_up", f"http://127.0.0.1:{port}/metrics", timeout_s=2.0)
    try:
        await other.refresh()
        body, content_type = registry.render("application/openmetrics-text; version=1.0.0")
        assert content_type.startswith("text/plain")  # the re-exported part is in the text format
        assert 'nv_inference_count{model="encoder"} 7\n' in body.decode()  # its names kept exactly
        assert Snapshot.parse(body.decode()).value("agentplane_other_up") == 1.0
        await runner.cleanup()
        await other.refresh()
        body, _ = registry.render()
        assert Snapshot.parse(body.decode()).value("agentplane_other_up") == 0.0
        assert b"nv_inference_count" not in body
    finally:
        await other.aclose()
        await runner.cleanup()

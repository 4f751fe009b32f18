"""Each agentplane container's settings load from what its pod really gets.

For every container of the agentplane image: the ConfigMap's TOML (at the path AGENTPLANE_CONFIG
names, which must be a mounted ConfigMap), the image's own ENV, the container's env with every
secretKeyRef and configMapKeyRef resolved from the rendered objects, and envFrom. The services'
own settings loader must accept them; then the listening ports, key files, data directory and
drain time must agree with the pod spec. The Triton init containers' command lines are run here.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from agentplane.mcp import McpSettings
from agentplane.platform import PlatformSettings
from agentplane.settings import ServiceSettings, load_settings
from controller.config import ControllerSettings
from domain_inference.config import DomainInferenceSettings
from gateway.config import EmbeddedLlmSettings, GatewaySettings
from realtime.config import RealtimeSettings
from tests.deploy.manifests import OVERLAYS, ROOT, Obj, Rendered, containers
from tests.support.models import models_dir

SETTINGS: dict[str, tuple[type[ServiceSettings], str]] = {
    "controller": (ControllerSettings, "controller"),
    "gateway": (GatewaySettings, "gateway"),
    "domain_inference": (DomainInferenceSettings, "domain_inference"),
    "realtime": (RealtimeSettings, "realtime"),
    "llm": (EmbeddedLlmSettings, "llm"),
}
REPOSITORY_MODULE = "domain_inference.triton.repository"
# Drain stages after SIGTERM, each bounded by server.grace_period_s: the gRPC server's drain,
# then (controller only) its running tasks' grace.
DRAIN_STAGES = {"controller": 2}
CLOSE_MARGIN_S = 5


def image_env() -> dict[str, str]:
    """The ENV of the Dockerfile's runtime stage (what every agentplane container starts with)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    runtime = text[text.index("AS runtime") :]
    env: dict[str, str] = {}
    for line in runtime.splitlines():
        if line.startswith("ENV "):
            env.update(tok.split("=", 1) for tok in shlex.split(line[4:]) if "=" in tok)  # type: ignore[misc]
    return {k: v for k, v in env.items() if "$" not in v}


def _settings_of(container: Obj) -> tuple[type[ServiceSettings], str]:
    args = container.get("args", [])
    if container.get("command", [])[-1:] == [REPOSITORY_MODULE]:
        return DomainInferenceSettings, "domain_inference"
    if args[:1] == ["serve"]:
        return SETTINGS[args[1]]
    assert args[:1] == ["mcp"], f"unknown agentplane command {args}"
    return McpSettings, "mcp"


def _mount_for(container: Obj, path: str) -> Obj:
    mounts = [m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mounts, f"{container['name']}: nothing is mounted at {path}"
    return max(mounts, key=lambda m: len(m["mountPath"]))


def container_env(rendered: Rendered, container: Obj, config: Path) -> dict[str, str]:
    """The variables the container starts with; AGENTPLANE_CONFIG pointed at a local copy of the ConfigMap file."""
    env = image_env()
    for ref in container.get("envFrom", []):
        if "secretRef" in ref:
            env.update(rendered.secret_data(ref["secretRef"]["name"]))
    for item in container.get("env", []):
        source = item.get("valueFrom")
        if source is None:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in source:
            env[item["name"]] = rendered.secret_data(source["secretKeyRef"]["name"])[source["secretKeyRef"]["key"]]
        else:
            ref = source["configMapKeyRef"]
            env[item["name"]] = rendered.configmap_data(ref["name"])[ref["key"]]
    return {**env, "AGENTPLANE_CONFIG": str(config)}


def _agentplane_containers(rendered: Rendered) -> list[tuple[Obj, Obj]]:
    return [
        (workload, container)
        for workload in rendered.workloads()
        for container in containers(workload)
        if container["image"].split(":")[0] == "agentplane"
    ]


def _config_file(rendered: Rendered, workload: Obj, container: Obj, tmp_path: Path) -> Path:
    path = next(e["value"] for e in container["env"] if e["name"] == "AGENTPLANE_CONFIG")
    mount = _mount_for(container, path)
    volume = next(v for v in workload["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    data = rendered.configmap_data(volume["configMap"]["name"])
    local = tmp_path / Path(path).name
    local.write_text(data[Path(path).relative_to(mount["mountPath"]).as_posix()])
    return local


def _secret_file(rendered: Rendered, workload: Obj, container: Obj, path: Path) -> str:
    mount = _mount_for(container, str(path))
    volume = next(v for v in workload["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    items = {i["path"]: i["key"] for i in volume["secret"].get("items", [])}
    relative = path.relative_to(mount["mountPath"]).as_posix()
    return rendered.secret_data(volume["secret"]["secretName"])[items.get(relative, relative)]


def _identity(rendered: Rendered, workload: Obj, container: Obj, cert_file: Path | None) -> str:
    """The common name of the certificate at `cert_file` in the container (its TLS identity)."""
    assert cert_file is not None
    cert = x509.load_pem_x509_certificate(_secret_file(rendered, workload, container, cert_file).encode())
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _check_tls(rendered: Rendered, workload: Obj, container: Obj, settings: Any, section: str) -> None:
    """The service serves TLS with its own certificate; an internal one admits the controller and its MCP adapter."""
    name = workload["metadata"]["name"]
    server = settings.server.tls
    assert server.enabled and server.refuse_plaintext_off_loopback, f"{name}: TLS with plaintext refused"
    assert _identity(rendered, workload, container, server.cert_file) == name
    assert _identity(rendered, workload, container, settings.client.tls.cert_file) == name
    assert "BEGIN PRIVATE KEY" in _secret_file(rendered, workload, container, server.key_file)
    ca = _secret_file(rendered, workload, container, settings.client.tls.ca_file)
    if section == "controller":
        assert server.client_ca_file is None, "the controller is an entry point: clients authenticate with API keys"
        return
    assert _secret_file(rendered, workload, container, server.client_ca_file) == ca
    component = name.removeprefix("agentplane-")
    assert set(server.allowed_client_identities) == {"agentplane-controller", f"agentplane-mcp-{component}"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_loads_its_settings_from_its_pod(overlays: dict[str, Rendered], overlay: str, tmp_path: Path):
    rendered = overlays[overlay]
    for workload, container in _agentplane_containers(rendered):
        config = _config_file(rendered, workload, container, tmp_path)
        env = container_env(rendered, container, config)
        cls, section = _settings_of(container)
        settings: Any = load_settings(cls, section, env=env)
        ports = {p["containerPort"] for p in container.get("ports", [])}
        name = f"{workload['metadata']['name']}/{container['name']}"
        command = container.get("args", [])[:1]
        if command not in (["serve"], ["mcp"]):
            continue  # a one-off job (the repository generator): its settings loaded, nothing listens
        assert _mount_for(container, str(settings.data_dir / "x"))["name"] == "data", f"{name}: data_dir"
        if section == "mcp":
            assert settings.http.ports[container["args"][1]] in ports and settings.http.stateless, name
            assert (
                _identity(rendered, workload, container, settings.client.tls.cert_file) == workload["metadata"]["name"]
            )
            assert "BEGIN PRIVATE KEY" in _secret_file(rendered, workload, container, settings.http.tls.key_file)
            continue
        module = load_settings(PlatformSettings, "up", env=env).processes[container["args"][1]].module
        assert (ROOT / module.replace(".", "/")).with_suffix(".py").is_file(), f"{name}: no module {module}"
        if section == "llm":
            assert settings.port in ports and settings.host == "0.0.0.0", name
            continue
        assert settings.server.host == "0.0.0.0" and settings.server.port in ports, name
        assert settings.server.health_port in ports, f"{name}: the probes' health port"
        assert settings.metrics.port in ports and settings.metrics.tls_cert_file == settings.server.tls.cert_file, name
        assert "[[keys]]" in _secret_file(rendered, workload, container, settings.auth.keys_file), name
        _check_tls(rendered, workload, container, settings, section)
        if section == "controller":
            assert _secret_file(rendered, workload, container, settings.client.api_key_file).strip(), name
            expected = "postgres" if overlay != "embedded" else "sqlite"
            assert settings.store.backend == expected, f"{overlay}: controller store {settings.store.backend}"
        if section == "gateway":
            assert settings.http.port in ports and settings.http.host == "0.0.0.0", name
            assert settings.http.tls.enabled and settings.http.tls.refuse_plaintext_off_loopback, name
            assert settings.cache.backend == ("memory" if overlay == "embedded" else "redis"), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_termination_grace_covers_prestop_and_the_drain(overlays: dict[str, Rendered], overlay: str, tmp_path: Path):
    rendered = overlays[overlay]
    for workload, container in _agentplane_containers(rendered):
        if container.get("args", [])[:1] != ["serve"] or container["args"][1] == "llm":
            continue
        config = _config_file(rendered, workload, container, tmp_path)
        process = container["args"][1]
        cls, section = SETTINGS[process]
        settings = load_settings(cls, section, env=container_env(rendered, container, config))
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        drain = settings.server.grace_period_s * DRAIN_STAGES.get(process, 1)
        grace = workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace >= pre_stop + drain + CLOSE_MARGIN_S, f"{process}: {grace}s < {pre_stop}+{drain}+{CLOSE_MARGIN_S}"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return models_dir(tmp_path_factory.mktemp("models"))


@pytest.mark.parametrize("overlay", ["embedded", "gpu"])
def test_the_triton_init_containers_write_a_repository_for_a_full_triton(
    overlays: dict[str, Rendered], overlay: str, models: Path, tmp_path: Path
):
    rendered = overlays[overlay]
    triton = rendered.component("triton")
    inits = triton["spec"]["template"]["spec"]["initContainers"]
    (tmp_path / "encoder.plan").write_bytes(b"engine")  # stands in for the TensorRT init container's output
    for container in (c for c in inits if c["image"].split(":")[0] == "agentplane"):
        config = _config_file(rendered, triton, container, tmp_path)
        env = {**container_env(rendered, container, config), "AGENTPLANE_DOMAIN_INFERENCE__MODELS_DIR": str(models)}
        args = [a.replace("/repository/", f"{tmp_path}/") for a in container["args"]]
        result = subprocess.run(
            [sys.executable, *container["command"][1:], *args],
            env={**env, "PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(ROOT)},
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        encoder = (tmp_path / "models" / "encoder" / "config.pbtxt").read_text()
        head = (tmp_path / "models" / "news_topic_head" / "config.pbtxt").read_text()
        assert "onnxruntime_onnx" in head and ("KIND_GPU" in head) == (overlay == "gpu")
        if "--tensorrt-plan" in args:
            assert 'platform: "tensorrt_plan"' in encoder
            assert (tmp_path / "models" / "encoder" / "1" / "model.plan").read_bytes() == b"engine"
        else:
            assert 'platform: "onnxruntime_onnx"' in encoder


def test_the_gpu_overlay_builds_its_engine_with_the_tensorrt_release_of_the_triton_image(overlays: dict[str, Rendered]):
    triton = overlays["gpu"].component("triton")["spec"]["template"]["spec"]
    names = [c["name"] for c in triton["initContainers"]]
    assert names == ["repository", "tensorrt-engine", "repository-tensorrt"]
    engine = triton["initContainers"][1]
    plan = next(a for a in engine["args"] if a.startswith("--saveEngine=")).split("=", 1)[1]
    assert ["--tensorrt-plan", plan] == triton["initContainers"][2]["args"][-2:]
    release = next(
        line.split(":")[-1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("ARG TRITON_IMAGE=")
    )
    assert engine["image"] == f"nvcr.io/nvidia/tensorrt:{release}"
    for container in (triton["containers"][0], engine):
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in triton["tolerations"]

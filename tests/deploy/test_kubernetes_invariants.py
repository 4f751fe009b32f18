"""Our own rules for the manifests, checked on every rendered overlay.

Probes, limits, a PodDisruptionBudget and a locked-down security context for every workload;
Service ports that exist in the pods they select; every ConfigMap and Secret key a pod uses
exists; headless Services where clients balance over DNS; autoscalers that point at real
Deployments with CPU requests; and network reachability as the issue states it.
"""

from __future__ import annotations

import pytest

from tests.deploy.manifests import OVERLAYS, Obj, Rendered, containers, selects

INTERNAL_PORTS = {"gateway": 50052, "domain-inference": 50053, "realtime": 50054}
MCP = ("mcp-controller", "mcp-gateway", "mcp-domain-inference", "mcp-realtime")


def _name(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_has_probes_limits_and_a_locked_down_security_context(
    overlays: dict[str, Rendered], overlay: str
):
    problems = []
    for workload in overlays[overlay].workloads():
        pod = workload["spec"]["template"]["spec"]
        pod_ctx = pod.get("securityContext", {})
        if not pod_ctx.get("runAsNonRoot") or not pod_ctx.get("runAsUser"):
            problems.append(f"{_name(workload)}: pod must set runAsNonRoot and a non-zero runAsUser")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{_name(workload)}: the pod needs no service account token")
        for container in containers(workload):
            where = f"{_name(workload)}/{container['name']}"
            ctx = container.get("securityContext", {})
            if ctx.get("allowPrivilegeEscalation") is not False or ctx.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: needs allowPrivilegeEscalation false and a read-only root filesystem")
            if ctx.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: must drop every capability")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(kind, {})):
                    problems.append(f"{where}: {kind} must give cpu and memory")
        for container in pod["containers"]:
            if "readinessProbe" not in container or "livenessProbe" not in container:
                problems.append(f"{_name(workload)}/{container['name']}: needs readiness and liveness probes")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grpc_services_are_probed_with_grpc_health_and_model_servers_have_startup_probes(
    overlays: dict[str, Rendered], overlay: str
):
    rendered = overlays[overlay]
    for workload in rendered.workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            if container["name"] != "agentplane" or "grpc" not in ports:
                continue
            # The service port speaks TLS, which the kubelet's gRPC probes cannot: they use the health port.
            readiness, liveness = container["readinessProbe"]["grpc"], container["livenessProbe"]["grpc"]
            assert readiness["port"] == ports["health"] and readiness["service"].startswith("agentplane.v1.")
            assert liveness["port"] == ports["health"] and not liveness.get("service")
    for component in ("triton", "domain-inference", "llm"):
        main = rendered.component(component)["spec"]["template"]["spec"]["containers"][0]
        assert "startupProbe" in main, f"{component} loads models: it needs a startup probe"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_has_exactly_one_disruption_budget(overlays: dict[str, Rendered], overlay: str):
    rendered = overlays[overlay]
    budgets = rendered.of_kind("PodDisruptionBudget")
    for workload in rendered.workloads():
        matching = [b for b in budgets if selects(b["spec"]["selector"], rendered.pod_labels(workload))]
        assert len(matching) == 1, f"{_name(workload)} is covered by {len(matching)} PodDisruptionBudgets"
        assert matching[0]["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_port_exists_in_the_pods_it_selects(overlays: dict[str, Rendered], overlay: str):
    rendered = overlays[overlay]
    for service in rendered.of_kind("Service"):
        if service["spec"].get("type") == "ExternalName":
            continue
        pods = [
            w
            for w in rendered.workloads()
            if selects({"matchLabels": service["spec"]["selector"]}, rendered.pod_labels(w))
        ]
        assert pods, f"{_name(service)} selects no workload"
        for workload in pods:
            ports = [p for c in containers(workload, init=False) for p in c.get("ports", [])]
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                found = [p for p in ports if target in (p.get("name"), p["containerPort"])]
                assert found, f"{_name(service)} port {port['name']} -> {target}: no such port in {_name(workload)}"
                assert found[0]["containerPort"] == port["port"], f"{_name(service)} maps {port['port']} elsewhere"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_configmap_and_secret_key_a_pod_uses_exists(overlays: dict[str, Rendered], overlay: str):
    rendered = overlays[overlay]
    names = {(o["kind"], o["metadata"]["name"]): o for o in rendered.of_kind("ConfigMap") + rendered.of_kind("Secret")}

    def keys(kind: str, name: str) -> set[str]:
        assert (kind, name) in names, f"{kind} {name} is referenced but not rendered"
        return set(names[(kind, name)].get("data", {}))

    for workload in rendered.workloads():
        pod = workload["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            for kind, field, ref in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
                if field in volume:
                    present = keys(kind, volume[field][ref])
                    wanted = {item["key"] for item in volume[field].get("items", [])}
                    assert wanted <= present, f"{_name(workload)}: volume {volume['name']} wants {wanted - present}"
        for container in containers(workload):
            for env in container.get("env", []):
                source = env.get("valueFrom", {})
                for kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    if field in source and not source[field].get("optional"):
                        assert source[field]["key"] in keys(kind, source[field]["name"]), f"{_name(workload)}: {env}"
            for env_from in container.get("envFrom", []):
                for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if field in env_from and not env_from[field].get("optional"):
                        keys(kind, env_from[field]["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_that_clients_balance_over_dns_are_headless(overlays: dict[str, Rendered], overlay: str):
    rendered = overlays[overlay]
    for component, port in {"controller": 50051, **INTERNAL_PORTS}.items():
        service = rendered.get("Service", f"agentplane-{component}")
        assert service["spec"].get("clusterIP") == "None", f"{component}: round_robin needs every pod's address"
        assert [p["port"] for p in service["spec"]["ports"]] == [port]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_target_real_deployments_with_cpu_requests(overlays: dict[str, Rendered], overlay: str):
    rendered = overlays[overlay]
    autoscalers = rendered.of_kind("HorizontalPodAutoscaler")
    if overlay == "embedded":
        assert not autoscalers, "the embedded overlay runs one replica of everything"
        return
    assert autoscalers
    for hpa in autoscalers:
        target = rendered.get("Deployment", hpa["spec"]["scaleTargetRef"]["name"])
        assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        for container in containers(target, init=False):
            assert "cpu" in container["resources"]["requests"], f"{_name(target)}: utilisation needs CPU requests"
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in autoscalers}
    assert "agentplane-controller" not in targets, "controller replicas wait for leased work (scale-out issue)"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_controller_and_mcp_adapters_reach_internal_services(overlays: dict[str, Rendered], overlay: str):
    rendered = overlays[overlay]
    labels = {
        name: rendered.pod_labels(rendered.component(name)) for name in ("controller", "gateway", "realtime", *MCP)
    }
    outsider = {"app": "anything-else"}
    for component, port in INTERNAL_PORTS.items():
        target = rendered.component(component)
        for client in ("controller", *MCP):
            assert rendered.reaches(labels[client], target, port), f"{client} must reach {component}:{port}"
        assert not rendered.reaches(outsider, target, port), f"an outside pod reaches {component}:{port}"
    assert not rendered.reaches(labels["gateway"], rendered.component("realtime"), 50054)
    assert not rendered.reaches(labels["realtime"], rendered.component("gateway"), 50052)
    # Entry points stay open to clients.
    assert rendered.reaches(outsider, rendered.component("controller"), 50051)
    assert rendered.reaches(outsider, rendered.component("gateway"), 8080)
    assert rendered.reaches(outsider, rendered.component("mcp-realtime"), 8764)
    assert rendered.reaches(outsider, rendered.component("realtime"), 9464)  # /metrics, for scrapers
    # Triton only from domain inference; the embedded LLM only from the gateway.
    triton, llm = rendered.component("triton"), rendered.component("llm")
    di = rendered.pod_labels(rendered.component("domain-inference"))
    assert rendered.reaches(di, triton, 8001) and not rendered.reaches(labels["controller"], triton, 8001)
    assert rendered.reaches(labels["gateway"], llm, 8471) and not rendered.reaches(labels["controller"], llm, 8471)


def test_the_embedded_overlay_keeps_state_on_volumes_and_never_runs_two_controllers(overlays: dict[str, Rendered]):
    rendered = overlays["embedded"]
    claims = {c["metadata"]["name"] for c in rendered.of_kind("PersistentVolumeClaim")}
    for component in ("controller", "gateway"):
        workload = rendered.component(component)
        assert workload["spec"]["replicas"] == 1 and workload["spec"]["strategy"]["type"] == "Recreate"
        data = next(v for v in workload["spec"]["template"]["spec"]["volumes"] if v["name"] == "data")
        assert set(data) == {"name", "persistentVolumeClaim"} and data["persistentVolumeClaim"]["claimName"] in claims
    assert all(w["spec"]["replicas"] == 1 for w in rendered.workloads())


def test_the_scaled_overlay_uses_postgres_and_redis_from_the_store_secret(overlays: dict[str, Rendered]):
    rendered = overlays["scaled"]
    store = rendered.secret_data(
        next(
            s["metadata"]["name"]
            for s in rendered.of_kind("Secret")
            if s["metadata"]["name"].startswith("agentplane-store")
        )
    )
    assert store["postgres-dsn"].startswith("postgresql://") and "\n" not in store["postgres-dsn"]
    assert store["redis-url"].startswith("redis://") and "\n" not in store["redis-url"]
    external = {s["metadata"]["name"] for s in rendered.of_kind("Service") if s["spec"].get("type") == "ExternalName"}
    assert external == {"agentplane-postgres", "agentplane-redis"}
    assert rendered.component("gateway")["spec"]["replicas"] == 2
    controller = rendered.component("controller")["spec"]
    assert controller["replicas"] == 1 and controller["strategy"]["type"] == "Recreate"  # until leased work

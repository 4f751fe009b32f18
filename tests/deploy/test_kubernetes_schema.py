"""Every object of every overlay is valid against the Kubernetes OpenAPI schemas, offline.

The schemas are those kubernetes-validate (pinned) ships, in their strict form, which also
refuses fields a version does not know. 1.30 is the oldest version the manifests need (preStop
`sleep` handlers), 1.37 the newest.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.deploy.manifests import OVERLAYS, Rendered, schema_errors

VERSIONS = ("1.30.0", "1.37.0")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schema(
    overlays: dict[str, Rendered], overlay: str, version: str
):
    errors = [
        f"{obj['kind']}/{obj['metadata']['name']}: {error}"
        for obj in overlays[overlay].objects
        for error in schema_errors(obj, version)
    ]
    assert not errors, "\n".join(errors)


def test_our_schema_check_agrees_with_kubernetes_validate(overlays: dict[str, Rendered]):
    deployment = overlays["embedded"].get("Deployment", "agentplane-controller")
    kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    assert not schema_errors(deployment, VERSIONS[-1])
    for broken in (
        {**deployment, "spec": {**deployment["spec"], "replicas": "two"}},
        {**deployment, "spec": {**deployment["spec"], "replica": 2}},  # unknown field: strict schemas refuse it
    ):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
        assert schema_errors(broken, VERSIONS[-1])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_holds_every_service(overlays: dict[str, Rendered], overlay: str):
    rendered = overlays[overlay]
    components = {rendered.pod_labels(w)["app.kubernetes.io/component"] for w in rendered.workloads()}
    assert components == {
        "controller",
        "gateway",
        "domain-inference",
        "realtime",
        "llm",
        "triton",
        "mcp-controller",
        "mcp-gateway",
        "mcp-domain-inference",
        "mcp-realtime",
    }
    assert {o["metadata"].get("namespace") for o in rendered.objects if o["kind"] != "Namespace"} == {"agentplane"}

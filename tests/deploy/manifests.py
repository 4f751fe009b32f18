"""Rendering deploy/kubernetes offline and reading the rendered objects, for the deploy tests.

`render_overlays` copies the kustomize tree to a scratch directory, writes its Secret source
files with `agentplane deploy secrets` (as an operator would), and renders each overlay with the
pinned kubectl (`kubectl kustomize`, no cluster needed). `Rendered` indexes the objects;
`reaches` evaluates the NetworkPolicies for one pod, port and peer the way Kubernetes does
(a pod selected by any policy admits only what some policy's rule allows).
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from agentplane.cli.deploy import write_secret_files

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE_TREE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("embedded", "scaled", "gpu")
KUBECTL = Path(sys.executable).parent / "kubectl"

Obj = dict[str, Any]


def render(tree: Path, overlay: str) -> list[Obj]:
    """`kubectl kustomize` of one overlay of `tree`, parsed.

    Raises:
        AssertionError: kubectl failed (its error output is the message).
    """
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(tree / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_overlays(scratch: Path) -> dict[str, list[Obj]]:
    """Every overlay rendered from a copy of the tree with freshly written secret files."""
    tree = scratch / "kubernetes"
    shutil.copytree(KUSTOMIZE_TREE, tree, ignore=shutil.ignore_patterns("secrets"))
    write_secret_files(tree)
    return {overlay: render(tree, overlay) for overlay in OVERLAYS}


def _folder(version: str) -> str:
    return f"kubernetes-json-schema/v{version}-local-strict"


@functools.cache
def _definitions(version: str) -> Registry:  # type: ignore[type-arg]
    return Resource.from_contents(kv.schema_contents(f"{_folder(version)}/_definitions.json", version)) @ Registry()


@functools.cache
def _validator(kind: str, api_version: str, version: str) -> jsonschema.Draft202012Validator:
    # kubernetes_validate.validate re-reads the multi-megabyte definitions file on every call;
    # the same schema files, loaded once per version and kind, make these tests ~20x faster.
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = kv.schema_contents(f"{_folder(version)}/{kind.lower()}-{group}.json", version)
    return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ _definitions(version))


def schema_errors(obj: Obj, version: str) -> list[str]:
    """Every error of `obj` against the strict OpenAPI schema of Kubernetes `version` (e.g. "1.30.0")."""
    validator = _validator(obj["kind"], obj["apiVersion"], version)
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(obj)]


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects `labels`."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


@dataclass
class Rendered:
    """The objects of one rendered overlay."""

    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Obj:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def workloads(self) -> list[Obj]:
        return self.of_kind("Deployment") + self.of_kind("StatefulSet")

    def pod_labels(self, workload: Obj) -> dict[str, str]:
        return dict(workload["spec"]["template"]["metadata"]["labels"])

    def secret_data(self, name: str) -> dict[str, str]:
        secret = self.get("Secret", name)
        return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}

    def configmap_data(self, name: str) -> dict[str, str]:
        return dict(self.get("ConfigMap", name).get("data", {}))

    def component(self, name: str) -> Obj:
        """The workload whose pods are labelled app.kubernetes.io/component=`name`."""
        found = [w for w in self.workloads() if self.pod_labels(w).get("app.kubernetes.io/component") == name]
        assert len(found) == 1, f"expected one workload for component {name}"
        return found[0]

    def reaches(self, source_labels: Mapping[str, str], target: Obj, port: int) -> bool:
        """Whether a pod with `source_labels` (same namespace) may open `port` on `target`'s pods."""
        labels = self.pod_labels(target)
        policies = [p for p in self.of_kind("NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]
        ingress = [p for p in policies if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
        if not ingress:
            return True
        for policy in ingress:
            for rule in policy["spec"].get("ingress", []):
                ports = rule.get("ports")
                if ports and not any(p.get("port") == port for p in ports):
                    continue
                peers = rule.get("from")
                if not peers or any(
                    "podSelector" in peer
                    and "namespaceSelector" not in peer
                    and selects(peer["podSelector"], source_labels)
                    for peer in peers
                ):
                    return True
        return False


def containers(workload: Obj, *, init: bool = True) -> Iterator[Obj]:
    """The containers of a workload's pod template (init containers first when `init`)."""
    spec = workload["spec"]["template"]["spec"]
    if init:
        yield from spec.get("initContainers", [])
    yield from spec["containers"]

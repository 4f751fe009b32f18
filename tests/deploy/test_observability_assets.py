"""The Grafana dashboards and Prometheus rules in deploy/: every query names only metrics that exist.

The names come from the services' own registries (each service's host built as in
production), so a renamed or removed metric fails here before a dashboard
goes blank. Triton's names (re-exported by domain inference) are checked against a real
Triton in tests/agentplane/test_top.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from agentplane.rpc import ServiceHost
from controller.config import ControllerSettings
from controller.server import build_controller
from domain_inference.config import DomainInferenceSettings
from domain_inference.server import build_server as build_domain_inference
from gateway.config import GatewaySettings
from gateway.server import build_server as build_gateway
from realtime.config import RealtimeSettings
from realtime.server import build_server as build_realtime
from tests.support.settings import test_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
TRITON_METRICS = frozenset(
    {
        "nv_inference_count",
        "nv_inference_exec_count",
        "nv_inference_request_success",
        "nv_inference_request_failure",
        "nv_inference_queue_duration_us",
        "nv_inference_compute_infer_duration_us",
    }
)
"""Triton's own metrics the dashboards use (served by Triton, re-exported by domain inference)."""
PROMETHEUS_BUILTINS = frozenset({"up"})

_KEYWORDS = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "le",
        "inf",
        "nan",
    }
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels and durations removed)."""
    text = _GROUPING.sub("", _RANGES.sub("", _MATCHERS.sub("", _STRINGS.sub('""', expr))))
    return {name for name in _IDENT.findall(text) if name.lower() not in _KEYWORDS}


def test_the_promql_name_extraction() -> None:
    expr = (
        'sum by (job, le) (rate(agentplane_x_bucket{job=~"a|b", le!="+Inf"}[$__rate_interval])) '
        "/ on (job) group_left sum(rate(up[5m])) > bool 0.5"
    )
    assert metric_names(expr) == {"agentplane_x_bucket", "up"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every series name the four services export (each host built as in production, started, stopped)."""
    d = tmp_path_factory.mktemp("assets")
    hosts: list[ServiceHost] = [
        build_controller(test_settings(ControllerSettings, "controller", d / "controller")),
        build_gateway(test_settings(GatewaySettings, "gateway", d / "gateway")),
        build_domain_inference(test_settings(DomainInferenceSettings, "domain_inference", d / "domain_inference")),
        build_realtime(test_settings(RealtimeSettings, "realtime", d / "realtime")),
    ]
    names: set[str] = set()
    for host in hosts:
        assert host.metrics is not None
        await host.start()
        try:
            names |= host.metrics.series_names()
        finally:
            await host.stop(grace_s=0.0)
    return names


def _dashboard_queries(path: Path) -> list[str]:
    doc = json.loads(path.read_text())
    return [t["expr"] for panel in doc["panels"] for t in panel.get("targets", [])]


def test_there_is_a_dashboard_per_service_and_an_overview() -> None:
    assert [p.stem for p in DASHBOARDS] == ["controller", "domain_inference", "gateway", "overview", "realtime"]
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda p: p.stem)
async def test_dashboard_queries_use_only_exported_metrics(dashboard: Path, exported: set[str]) -> None:
    queries = _dashboard_queries(dashboard)
    assert queries, f"{dashboard.name} has no queries"
    used = set().union(*(metric_names(q) for q in queries))
    unknown = used - exported - TRITON_METRICS - PROMETHEUS_BUILTINS
    assert not unknown, f"{dashboard.name} queries metrics no service exports: {sorted(unknown)}"


@pytest.mark.asyncio(loop_scope="module")
async def test_alert_rules_use_only_exported_metrics_and_cover_what_pages(exported: set[str]) -> None:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    rules = [rule for group in doc["groups"] for rule in group["rules"]]
    for rule in rules:
        unknown = metric_names(rule["expr"]) - exported - PROMETHEUS_BUILTINS
        assert not unknown, f"alert {rule['alert']} queries metrics no service exports: {sorted(unknown)}"
        assert rule["annotations"]["summary"]
    alerts = {rule["alert"] for rule in rules}
    assert {
        "AgentplaneHighErrorRate",
        "AgentplaneBreakerOpen",
        "AgentplaneReviewQueueAge",
        "AgentplaneBudgetNearlySpent",
        "AgentplaneTritonDown",
    } <= alerts


def test_scrape_config_has_a_job_per_service_and_loads_the_rules() -> None:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in doc["scrape_configs"]}
    assert jobs == {
        "agentplane-controller",
        "agentplane-gateway",
        "agentplane-domain-inference",
        "agentplane-realtime",
    }
    assert doc["rule_files"] == ["alerts.yml"]
    for dashboard in DASHBOARDS:  # the dashboards select on these job names
        for query in _dashboard_queries(dashboard):
            for job in re.findall(r'job="([^"]+)"', query):
                assert job in jobs, f"{dashboard.name}: unknown job {job}"

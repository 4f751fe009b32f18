"""The controller's metrics and traces over the four services really running in this process.

One SubmitTask yields one connected trace across every service it touched (W3C trace
context over gRPC and HTTP), and the task's audit events and log lines carry that trace's
id; a known sequence of calls changes the controller's counters by exactly what it did.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import aiohttp
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from agentplane.errors import InvalidArgumentError, ResourceExhaustedError, UnauthenticatedError
from agentplane.log import JsonFormatter
from agentplane.metrics import Window, scrape
from agentplane.rpc import ServiceHost, unary
from agentplane.v1 import controller_pb2, controller_pb2_grpc
from controller.config import ControllerSettings
from controller.server import build_controller
from tests.realtime.site import TestSite
from tests.support.fake_llm import FakeLLM
from tests.support.keys import raw_key
from tests.support.models import models_dir
from tests.support.servers import channel
from tests.support.services import start_downstreams
from tests.support.settings import test_settings

C = controller_pb2
pytestmark = pytest.mark.asyncio(loop_scope="module")
TRACED = {"tracing": {"enabled": True}}
ARTICLE = (
    "Shares in the retailer jumped 9% after it reported record half-year profits, raised its dividend "
    "and said sales in its stores had grown faster than analysts expected. The chief executive said the "
    "company would open forty new shops next year and cut prices to win customers from its rivals."
)


class SpanSink(SimpleSpanProcessor):
    """Exports ended spans to the in-memory exporter and wakes waiters."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        super().__init__(exporter)
        self.exporter = exporter
        self.ended = asyncio.Condition()
        self._loop = asyncio.get_running_loop()

    def on_end(self, span: ReadableSpan) -> None:
        super().on_end(span)
        self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._notify()))

    async def _notify(self) -> None:
        async with self.ended:
            self.ended.notify_all()

    async def trace(self, trace_id: int, done: str, timeout_s: float = 20.0) -> list[ReadableSpan]:
        """The spans of `trace_id` once a span named `done` has ended in it."""

        def spans() -> list[ReadableSpan]:
            return [s for s in self.exporter.get_finished_spans() if s.context.trace_id == trace_id]

        async with asyncio.timeout(timeout_s), self.ended:
            await self.ended.wait_for(lambda: any(s.name == done for s in spans()))
        return spans()


@dataclass
class Traced:
    hosts: dict[str, ServiceHost]
    site: TestSite
    sink: SpanSink
    logs: list[dict[str, object]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.hosts['controller'].port}"


class _Capture(logging.Handler):
    def __init__(self, into: list[dict[str, object]]) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("test"))
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        self._into.append(json.loads(self.format(record)))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def traced(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Traced]:
    """The four services with tracing on (no export) and every span also kept in memory (one set per module)."""
    tmp_path = tmp_path_factory.mktemp("traced")
    sink = SpanSink(InMemorySpanExporter())
    async with AsyncExitStack() as stack:
        site = TestSite()
        await site.start()
        stack.push_async_callback(site.stop)
        llm = await stack.enter_async_context(FakeLLM())
        hosts = await start_downstreams(
            stack, tmp_path, site_port=site.port, llm_url=llm.base_url, artifacts=models_dir(tmp_path), **TRACED
        )
        addresses = {name: [f"127.0.0.1:{host.port}"] for name, host in hosts.items()}
        policy = {
            "task_types": {
                "general": {"threshold": 0.7},
                "realtime_answer": {"threshold": 0.7},
                "payment_approval": {"route": "LLM", "high_stakes": True},
            }
        }
        settings = test_settings(
            ControllerSettings,
            "controller",
            tmp_path / "controller",
            endpoints=addresses,
            client={"api_key": raw_key("service")},
            llm={"samples": 1},
            review_sweep_interval_s=3600.0,
            policy={"default": policy},
            limits={"tenants": {"globex": {"rate_per_s": 0.001, "burst": 2}}},
            **TRACED,
        )
        hosts["controller"] = build_controller(settings)
        for host in hosts.values():
            assert host.tracing.provider is not None
            host.tracing.provider.add_span_processor(sink)
        await hosts["controller"].start()
        stack.push_async_callback(hosts["controller"].stop)
        logs: list[dict[str, object]] = []
        handler = _Capture(logs)
        recorder_log = logging.getLogger("controller.recorder")
        recorder_log.addHandler(handler)
        level = recorder_log.level
        recorder_log.setLevel(logging.DEBUG)
        stack.callback(recorder_log.removeHandler, handler)
        stack.callback(recorder_log.setLevel, level)
        yield Traced(hosts, site, sink, logs)


async def _submit(address: str, key: str = "acme-user", **fields: object) -> C.Task:
    async with channel(address, key) as chan:
        stub = controller_pb2_grpc.TaskControllerStub(chan.channel)
        return await unary(stub.SubmitTask, C.SubmitTaskRequest(**fields), timeout_s=60)  # type: ignore[arg-type]


async def _audit(address: str, task_id: str, key: str = "acme-reviewer") -> list[C.AuditEvent]:
    async with channel(address, key) as chan:
        stub = controller_pb2_grpc.TaskControllerStub(chan.channel)
        trail = await unary(stub.GetAuditTrail, C.GetAuditTrailRequest(task_id=task_id, page_size=500))
        return list(trail.events)


_SERVER_SPANS = {
    "realtime": ("agentplane-realtime", "/agentplane.v1.RealtimeData/Fetch"),
    "gateway": ("agentplane-gateway", "/agentplane.v1.LLMGateway/Complete"),
    "domain_inference": ("agentplane-domain-inference", "/agentplane.v1.DomainInference/Classify"),
}


@pytest.mark.parametrize(
    ("task_type", "text", "services"),
    [
        ("realtime_answer", "What does {url} say about the price?", {"realtime", "gateway"}),
        ("", ARTICLE, {"domain_inference"}),  # routed by its embedding, then classified
    ],
    ids=["realtime_then_llm", "semantic_then_domain"],
)
async def test_one_submit_task_is_one_connected_trace_whose_id_is_in_the_audit_trail_and_logs(
    traced: Traced, task_type: str, text: str, services: set[str]
) -> None:
    text = text.format(url=traced.site.url("/page/product.html"))
    task = await _submit(traced.address, text=text, task_type=task_type)
    assert task.state == C.TASK_STATE_COMPLETED, task
    trace_id = int(task.trace_id, 16)
    spans = await traced.sink.trace(trace_id, done="controller.task")

    # Connected: exactly one root (the SubmitTask server span), every other span's parent is in the trace.
    ids = {s.context.span_id for s in spans}
    roots = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
    assert [(r.name, r.kind) for r in roots] == [("/agentplane.v1.TaskController/SubmitTask", SpanKind.SERVER)]
    # Every service the task called (its audit trail says which) answered inside this trace.
    events = await _audit(traced.address, task.task_id)
    touched = {json.loads(e.details_json)["service"] for e in events if e.action == "downstream.call"}
    assert touched == services
    servers = {(s.resource.attributes["service.name"], s.name) for s in spans if s.kind is SpanKind.SERVER}
    assert {_SERVER_SPANS[name] for name in touched} <= servers
    # ... with their upstream HTTP requests (the page, the LLM provider) as client spans.
    clients = {(s.resource.attributes["service.name"], s.name) for s in spans if s.kind is SpanKind.CLIENT}
    if "realtime" in touched:
        assert ("agentplane-realtime", "GET") in clients
    if "gateway" in touched:
        assert ("agentplane-gateway", "POST") in clients
    # The audit events and the log lines of the task carry the trace's id.
    assert events and {e.trace_id for e in events} == {task.trace_id}
    lines = [line for line in traced.logs if task.task_id in str(line["msg"])]
    assert lines and {line["trace_id"] for line in lines} == {task.trace_id}


def _route(task: C.Task) -> str:
    return C.Route.Name(task.plan.route).removeprefix("ROUTE_")


def _outcome(task: C.Task) -> str:
    return C.TaskState.Name(task.state).removeprefix("TASK_STATE_").lower()


async def test_controller_counters_change_exactly_by_the_calls_made(traced: Traced) -> None:
    host = traced.hosts["controller"]
    assert host.metrics_endpoint is not None
    async with aiohttp.ClientSession() as http:
        before = await scrape(http, host.metrics_endpoint.url)
        tasks = [
            await _submit(traced.address, text="Explain compound interest in one sentence.", task_type="general"),
            await _submit(traced.address, text=f"Classify this article: {ARTICLE}", task_type="classify"),
            await _submit(traced.address, text="Approve the payment of 900 EUR to ACME.", task_type="payment_approval"),
            await _submit(traced.address, text="What is the EUR rate on that page?", task_type="realtime_answer"),
            await _submit(traced.address, "globex-user", text="What is a bond?", task_type="general"),
        ]
        globex_audit = await _audit(traced.address, tasks[-1].task_id, "globex-reviewer")  # its 2nd and last call
        with pytest.raises(ResourceExhaustedError):
            await _submit(traced.address, "globex-user", text="And a share?", task_type="general")
        with pytest.raises(InvalidArgumentError):
            await _submit(traced.address, text="   ")
        with pytest.raises(UnauthenticatedError):
            await _submit(traced.address, None, text="who am I?")  # type: ignore[arg-type]
        review_id = tasks[2].review_id
        async with channel(traced.address, "acme-reviewer") as chan:
            stub = controller_pb2_grpc.TaskControllerStub(chan.channel)
            await unary(
                stub.ResolveReview, C.ResolveReviewRequest(review_id=review_id, decision=C.REVIEW_DECISION_APPROVE)
            )
        window = Window(before, await scrape(http, host.metrics_endpoint.url))
        audits = [*[await _audit(traced.address, t.task_id) for t in tasks[:-1]], globex_audit]

    assert [_outcome(t) for t in tasks] == [
        "completed",
        "completed",
        "needs_review",
        "needs_clarification",
        "completed",
    ]
    assert window.increase("agentplane_controller_tasks_submitted_total") == 5
    expected = Counter((_route(t), _outcome(t)) for t in tasks)
    assert window.increases("agentplane_controller_tasks_total", "route", "outcome") == dict(expected)
    assert window.increase("agentplane_controller_task_seconds_count") == 5
    assert window.increase("agentplane_controller_queue_wait_seconds_count") == 5
    assert window.increase("agentplane_controller_confidence_count") == 5
    assert window.increase_by("agentplane_controller_escalations_total", "reason") == {"HIGH_STAKES": 1.0}
    assert window.increase_by("agentplane_controller_clarifications_total", "reason") == {"MISSING_INPUT": 1.0}
    assert window.increase("agentplane_controller_review_resolution_seconds_count", decision="approve") == 1
    assert window.after.value("agentplane_controller_reviews_pending") == 0
    # Downstream calls by service and outcome: exactly the audit trail's `downstream.call` events.
    calls = Counter(
        (d["service"], d["method"], "OK" if d["outcome"] == "ok" else d["detail"]["code"])
        for trail in audits
        for d in (json.loads(e.details_json) for e in trail if e.action == "downstream.call")
    )
    counted = window.increases("agentplane_controller_downstream_calls_total", "service", "method", "outcome")
    assert counted == dict(calls)
    # The gRPC view: refusals and errors by status code, refusals by reason.
    submit = {"grpc_service": "agentplane.v1.TaskController", "grpc_method": "SubmitTask"}
    assert window.increase_by("agentplane_grpc_server_handled_total", "grpc_code", **submit) == {
        "OK": 5.0,
        "RESOURCE_EXHAUSTED": 1.0,
        "INVALID_ARGUMENT": 1.0,
        "UNAUTHENTICATED": 1.0,
    }
    assert window.increase_by("agentplane_admission_refusals_total", "reason") == {
        "RATE_LIMITED": 1.0,
        "API_KEY_MISSING": 1.0,
    }
    assert window.increase_by("agentplane_tenant_limit_refusals_total", "tenant") == {"globex": 1.0}
    breakers = window.after.samples("agentplane_breaker_state", state="closed")
    assert {s.labels["breaker"] for s in breakers if s.value == 1.0} == {"gateway", "domain_inference", "realtime"}

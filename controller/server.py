"""Builds and runs the controller's gRPC server (`python -m controller.server`).

Layer: composition root. `build_controller` returns the controller's `ServiceHost`.
Start order: store (recovery needs it), audit head signing, downstream channels,
external tool servers, runner (resumes unfinished tasks), review sweeper, then the
gRPC server. The host closes them in reverse: the server drains in-flight calls
first, then running tasks get a grace period, then tools and channels close, the
heads that moved are signed, and the store closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentplane.rpc import CleanupContext, ResourceKey, ServiceBinding, ServiceHost, closing, lifecycle, serve_main
from agentplane.v1 import controller_pb2_grpc
from controller.adapters import DomainClient, Downstream, GatewayClient, RealtimeClient
from controller.adapters.mcp_tools import ExternalTools
from controller.anchors import AuditAnchors
from controller.audit_signing import AuditSigner, load_signing_key
from controller.config import ControllerSettings
from controller.events import EventBus
from controller.intake import Intake
from controller.metrics import ControllerMetrics
from controller.recorder import TaskRecorder
from controller.reviews import ReviewDesk
from controller.routing import Router
from controller.runner import TaskRunner
from controller.service import TaskControllerService
from controller.steps import Executor
from controller.store import open_store
from controller.store.base import Store

__all__ = ["RUNNER", "SERVICE_NAME", "STORE", "build_controller", "main"]

SERVICE_NAME = "agentplane.v1.TaskController"
STORE = ResourceKey[Store]("store")
RUNNER = ResourceKey("runner", TaskRunner)


def _store(store: Store) -> CleanupContext:
    async def opened() -> AsyncIterator[None]:
        await store.open()
        yield
        await store.aclose()

    return opened


def _runner(runner: TaskRunner, grace_s: float) -> CleanupContext:
    async def running() -> AsyncIterator[None]:
        await runner.start()
        yield
        await runner.aclose(grace_s=grace_s)

    return running


def _sweeper(reviews: ReviewDesk) -> CleanupContext:
    async def sweeping() -> AsyncIterator[None]:
        reviews.start()
        yield
        await reviews.aclose()

    return sweeping


def build_controller(settings: ControllerSettings) -> ServiceHost:
    """Wire the controller (nothing starts until the host's `start`)."""
    host = ServiceHost(settings, "controller")
    metrics = ControllerMetrics(host.metrics) if host.metrics is not None else None
    store = host[STORE] = open_store(settings)
    host.add("store", _store(store))
    signer = AuditSigner(load_signing_key(settings.audit.signing_key_file, settings.data_dir))
    anchors = AuditAnchors(store, signer, settings.audit.anchor_interval_s)
    host.add("audit_anchors", lifecycle(anchors))  # closes after the runner: the last heads get signed
    gateway, domain, realtime = (
        Downstream(
            name,
            addresses,
            settings.client,
            settings.downstream,
            metrics=metrics,
            interceptors=host.tracing.client_interceptors(),
        )
        for name, addresses in (
            ("gateway", settings.endpoints.gateway),
            ("domain_inference", settings.endpoints.domain_inference),
            ("realtime", settings.endpoints.realtime),
        )
    )
    host.add("channels", closing(gateway, domain, realtime))
    tools = ExternalTools(settings.external_tools, settings.policy) if settings.external_tools else None
    if tools is not None:
        host.add("external_tools", lifecycle(tools))
    domain_client = DomainClient(domain, settings.routing.embed_model)
    bus = EventBus()
    recorder = TaskRecorder(store, bus, metrics)
    executor = Executor(
        settings,
        domain=domain_client,
        llm=GatewayClient(gateway),
        realtime=RealtimeClient(realtime),
        tools=tools,
        store=store,
    )
    runner = host[RUNNER] = TaskRunner(
        settings, recorder, Router(settings.routing, domain_client), executor, metrics=metrics, tracing=host.tracing
    )
    host.add("runner", _runner(runner, settings.server.grace_period_s))
    reviews = ReviewDesk(recorder, settings.review_sweep_interval_s)
    host.add("review_sweeper", _sweeper(reviews))
    if metrics is not None:
        downstreams = (gateway, domain, realtime)
        metrics.watch(
            queue_depth=runner.queue_depth,
            running=runner.running,
            backlog=lambda: runner.backlog,
            breakers=lambda: [(d.name, d.breaker.state) for d in downstreams],
        )
        host.on_scrape(lambda: metrics.refresh_reviews(reviews.pending_stats))
    intake = Intake(settings, recorder, runner, bus)
    servicer = TaskControllerService(intake, runner, recorder, reviews, bus, anchors)
    host.serve(
        [ServiceBinding(SERVICE_NAME, lambda s: controller_pb2_grpc.add_TaskControllerServicer_to_server(servicer, s))]
    )
    return host


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    serve_main(ControllerSettings, "controller", build_controller)


if __name__ == "__main__":
    main()

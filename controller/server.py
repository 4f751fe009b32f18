"""Builds and runs the controller's gRPC server (`python -m controller.server`).

Start order: store (recovery needs it), downstream channels, runner (resumes
unfinished tasks), review sweeper, then the gRPC server. Stop order is the reverse:
the server drains in-flight calls first, then running tasks get a grace period,
then channels and the store close.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agentplane.log import configure_logging
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.settings import load_settings
from agentplane.v1 import controller_pb2_grpc
from controller.adapters import DomainClient, Downstream, GatewayClient, RealtimeClient
from controller.adapters.mcp_tools import ExternalTools
from controller.config import ControllerSettings
from controller.events import EventBus
from controller.intake import Intake
from controller.recorder import TaskRecorder
from controller.reviews import ReviewDesk
from controller.routing import Router
from controller.runner import TaskRunner
from controller.service import TaskControllerService
from controller.steps import Executor
from controller.store import open_store
from controller.store.base import Store

__all__ = ["SERVICE_NAME", "Controller", "build_controller", "main"]

SERVICE_NAME = "agentplane.v1.TaskController"


@dataclass
class Controller:
    """The controller's long-lived parts, with one start and one stop."""

    settings: ControllerSettings
    store: Store
    downstreams: list[Downstream]
    runner: TaskRunner
    reviews: ReviewDesk
    server: GrpcServer
    tools: ExternalTools | None = None

    async def start(self) -> int:
        """Open the store, connect external tool servers, resume unfinished tasks, start serving; return the port."""
        await self.store.open()
        if self.tools is not None:
            await self.tools.start()
        await self.runner.start()
        self.reviews.start()
        return await self.server.start()

    async def stop(self) -> None:
        """Drain calls, let running tasks finish (bounded), close everything."""
        await self.server.stop()
        await self.aclose_after_server()

    async def aclose_after_server(self) -> None:
        """Everything `stop` does after the gRPC server has drained."""
        await self.reviews.aclose()
        await self.runner.aclose(grace_s=self.settings.server.grace_period_s)
        if self.tools is not None:
            await self.tools.aclose()
        for down in self.downstreams:
            await down.aclose()
        await self.store.aclose()


def build_controller(settings: ControllerSettings) -> Controller:
    """Wire the controller (nothing starts until `start`)."""
    store = open_store(settings)
    gateway = Downstream("gateway", settings.endpoints.gateway, settings.client, settings.downstream)
    domain = Downstream("domain_inference", settings.endpoints.domain_inference, settings.client, settings.downstream)
    realtime = Downstream("realtime", settings.endpoints.realtime, settings.client, settings.downstream)
    domain_client = DomainClient(domain, settings.routing.embed_model)
    bus = EventBus()
    recorder = TaskRecorder(store, bus)
    tools = ExternalTools(settings.external_tools, settings.policy) if settings.external_tools else None
    executor = Executor(
        settings,
        domain=domain_client,
        llm=GatewayClient(gateway),
        realtime=RealtimeClient(realtime),
        tools=tools,
        store=store,
    )
    runner = TaskRunner(settings, recorder, Router(settings.routing, domain_client), executor)
    reviews = ReviewDesk(recorder, settings.review_sweep_interval_s)
    intake = Intake(settings, recorder, runner, bus)
    servicer = TaskControllerService(intake, runner, recorder, reviews, bus)
    binding = ServiceBinding(
        SERVICE_NAME, lambda s: controller_pb2_grpc.add_TaskControllerServicer_to_server(servicer, s)
    )
    server = GrpcServer(settings, [binding])
    return Controller(settings, store, [gateway, domain, realtime], runner, reviews, server, tools)


async def serve(settings: ControllerSettings) -> None:
    """Run until SIGTERM/SIGINT, then stop in order."""
    controller = build_controller(settings)
    await controller.store.open()
    if controller.tools is not None:
        await controller.tools.start()
    await controller.runner.start()
    controller.reviews.start()
    await run_until_signal(controller.server, on_stop=controller.aclose_after_server)


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(ControllerSettings, "controller")
    configure_logging("controller", settings.log.level, json_format=settings.log.json_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

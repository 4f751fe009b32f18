"""Builds and runs the controller gRPC server (`python -m controller.server`)."""

from __future__ import annotations

import asyncio

from agentplane.log import configure_logging
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.rpc.placeholder import unimplemented_servicer
from agentplane.settings import load_settings
from agentplane.v1 import controller_pb2_grpc
from controller.config import ControllerSettings

__all__ = ["SERVICE_NAME", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.TaskController"


def build_server(settings: ControllerSettings) -> GrpcServer:
    """The controller server, not yet started."""
    servicer = unimplemented_servicer(controller_pb2_grpc.TaskControllerServicer, "TaskController", "issue #6")
    binding = ServiceBinding(
        SERVICE_NAME, lambda s: controller_pb2_grpc.add_TaskControllerServicer_to_server(servicer, s)
    )
    return GrpcServer(settings, [binding])


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(ControllerSettings, "controller")
    configure_logging("controller", settings.log.level, json_format=settings.log.json_format)
    asyncio.run(run_until_signal(build_server(settings)))


if __name__ == "__main__":
    main()

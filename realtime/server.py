"""Builds and runs the realtime gRPC server (`python -m realtime.server`)."""

from __future__ import annotations

import asyncio

from agentplane.log import configure_logging
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.rpc.placeholder import unimplemented_servicer
from agentplane.settings import load_settings
from agentplane.v1 import realtime_pb2_grpc
from realtime.config import RealtimeSettings

__all__ = ["SERVICE_NAME", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.RealtimeData"


def build_server(settings: RealtimeSettings) -> GrpcServer:
    """The realtime server, not yet started."""
    servicer = unimplemented_servicer(realtime_pb2_grpc.RealtimeDataServicer, "RealtimeData", "issue #5")
    binding = ServiceBinding(SERVICE_NAME, lambda s: realtime_pb2_grpc.add_RealtimeDataServicer_to_server(servicer, s))
    return GrpcServer(settings, [binding])


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(RealtimeSettings, "realtime")
    configure_logging("realtime", settings.log.level, json_format=settings.log.json_format)
    asyncio.run(run_until_signal(build_server(settings)))


if __name__ == "__main__":
    main()

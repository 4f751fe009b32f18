"""Builds and runs the gateway gRPC server (`python -m gateway.server`)."""

from __future__ import annotations

import asyncio

from agentplane.log import configure_logging
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.rpc.placeholder import unimplemented_servicer
from agentplane.settings import load_settings
from agentplane.v1 import gateway_pb2_grpc
from gateway.config import GatewaySettings

__all__ = ["SERVICE_NAME", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.LLMGateway"


def build_server(settings: GatewaySettings) -> GrpcServer:
    """The gateway server, not yet started."""
    servicer = unimplemented_servicer(gateway_pb2_grpc.LLMGatewayServicer, "LLMGateway", "issue #3")
    binding = ServiceBinding(SERVICE_NAME, lambda s: gateway_pb2_grpc.add_LLMGatewayServicer_to_server(servicer, s))
    return GrpcServer(settings, [binding])


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(GatewaySettings, "gateway")
    configure_logging("gateway", settings.log.level, json_format=settings.log.json_format)
    asyncio.run(run_until_signal(build_server(settings)))


if __name__ == "__main__":
    main()

"""Builds and runs the domain_inference gRPC server (`python -m domain_inference.server`)."""

from __future__ import annotations

import asyncio

from agentplane.log import configure_logging
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.rpc.placeholder import unimplemented_servicer
from agentplane.settings import load_settings
from agentplane.v1 import inference_pb2_grpc
from domain_inference.config import DomainInferenceSettings

__all__ = ["SERVICE_NAME", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.DomainInference"


def build_server(settings: DomainInferenceSettings) -> GrpcServer:
    """The domain_inference server, not yet started."""
    servicer = unimplemented_servicer(inference_pb2_grpc.DomainInferenceServicer, "DomainInference", "issue #4")
    binding = ServiceBinding(SERVICE_NAME, lambda s: inference_pb2_grpc.add_DomainInferenceServicer_to_server(servicer, s))
    return GrpcServer(settings, [binding])


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(DomainInferenceSettings, "domain_inference")
    configure_logging("domain_inference", settings.log.level, json_format=settings.log.json_format)
    asyncio.run(run_until_signal(build_server(settings)))


if __name__ == "__main__":
    main()

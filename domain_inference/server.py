"""Builds and runs the domain_inference gRPC server (`python -m domain_inference.server`).

Layer: process entry point. `build_server` returns the server, not started; the server owns
the runtime (artifacts, Triton channel pool, in-process fallback): `start` starts the runtime
and then binds, `stop` drains the calls and then closes the runtime.
"""

from __future__ import annotations

import asyncio

from agentplane.log import configure_logging
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.settings import load_settings
from agentplane.v1 import inference_pb2_grpc
from domain_inference.config import DomainInferenceSettings
from domain_inference.runtime import InferenceRuntime
from domain_inference.service import DomainInferenceServicer

__all__ = ["SERVICE_NAME", "DomainInferenceServer", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.DomainInference"


class DomainInferenceServer(GrpcServer):
    """A `GrpcServer` hosting DomainInference whose runtime starts and stops with it.

    Args:
        settings: The service settings.
    """

    def __init__(self, settings: DomainInferenceSettings) -> None:
        self.runtime = InferenceRuntime(settings)
        servicer = DomainInferenceServicer(self.runtime, settings)
        binding = ServiceBinding(
            SERVICE_NAME, lambda s: inference_pb2_grpc.add_DomainInferenceServicer_to_server(servicer, s)
        )
        super().__init__(settings, [binding])

    async def start(self) -> int:
        """Start the runtime, then bind and serve; return the bound port."""
        await self.runtime.start()
        return await super().start()

    async def stop(self, grace_s: float | None = None) -> None:
        """Drain in-flight calls, then close the runtime (idempotent)."""
        await super().stop(grace_s)
        await self.runtime.aclose()


def build_server(settings: DomainInferenceSettings) -> DomainInferenceServer:
    """The domain_inference server, not yet started."""
    return DomainInferenceServer(settings)


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(DomainInferenceSettings, "domain_inference")
    configure_logging("domain_inference", settings.log.level, json_format=settings.log.json_format)
    if settings.use_uvloop:
        import uvloop

        uvloop.run(run_until_signal(build_server(settings)))
    else:
        asyncio.run(run_until_signal(build_server(settings)))


if __name__ == "__main__":
    main()

"""Builds and runs the realtime gRPC server (`python -m realtime.server`).

Layer: RPC boundary (bootstrap). `build_server` returns a `GrpcServer` whose
start/stop also start and close the service's runtime (HTTP session, source
store, refresh scheduler), so tests and `main` get the same lifecycle.
"""

from __future__ import annotations

import asyncio

from agentplane.log import configure_logging
from agentplane.rpc import GrpcServer, ServiceBinding, run_until_signal
from agentplane.settings import load_settings
from agentplane.v1 import realtime_pb2_grpc
from realtime.config import RealtimeSettings
from realtime.runtime import RealtimeRuntime, RuntimeHooks
from realtime.service import RealtimeDataServicer

__all__ = ["SERVICE_NAME", "RealtimeGrpcServer", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.RealtimeData"


class RealtimeGrpcServer(GrpcServer):
    """A GrpcServer that owns the realtime runtime: started before serving, closed after draining."""

    def __init__(self, settings: RealtimeSettings, runtime: RealtimeRuntime) -> None:
        servicer = RealtimeDataServicer(runtime)
        binding = ServiceBinding(
            SERVICE_NAME, lambda s: realtime_pb2_grpc.add_RealtimeDataServicer_to_server(servicer, s)
        )
        super().__init__(settings, [binding])
        self.runtime = runtime

    async def start(self) -> int:
        """Start the runtime, then serve; return the bound port."""
        await self.runtime.start()
        try:
            return await super().start()
        except BaseException:
            await self.runtime.aclose()
            raise

    async def stop(self, grace_s: float | None = None) -> None:
        """Drain the server, then close the runtime. Idempotent."""
        try:
            await super().stop(grace_s)
        finally:
            await self.runtime.aclose()


def build_server(settings: RealtimeSettings, *, hooks: RuntimeHooks | None = None) -> GrpcServer:
    """The realtime server, not yet started.

    Args:
        settings: The service's settings.
        hooks: Test seams (clock, base resolver under the SSRF guard, connect observer).
    """
    return RealtimeGrpcServer(settings, RealtimeRuntime(settings, hooks))


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    settings = load_settings(RealtimeSettings, "realtime")
    configure_logging("realtime", settings.log.level, json_format=settings.log.json_format)
    if settings.use_uvloop:
        import uvloop

        uvloop.run(run_until_signal(build_server(settings)))
    else:
        asyncio.run(run_until_signal(build_server(settings)))


if __name__ == "__main__":
    main()

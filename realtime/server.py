"""Builds and runs the realtime gRPC server (`python -m realtime.server`).

Layer: composition root. `build_server` returns the service's `ServiceHost`: the runtime
(HTTP session, source store, refresh scheduler) starts first and closes after the gRPC
server drained; `host[RUNTIME]` is the runtime. Tests and `main` get the same lifecycle.
"""

from __future__ import annotations

from agentplane.rpc import ResourceKey, ServiceBinding, ServiceHost, lifecycle, serve_main
from agentplane.v1 import realtime_pb2_grpc
from realtime.config import RealtimeSettings
from realtime.metrics import RealtimeMetrics
from realtime.runtime import RealtimeRuntime, RuntimeHooks
from realtime.service import RealtimeDataServicer

__all__ = ["RUNTIME", "SERVICE_NAME", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.RealtimeData"
RUNTIME = ResourceKey("runtime", RealtimeRuntime)


def build_server(settings: RealtimeSettings, *, hooks: RuntimeHooks | None = None) -> ServiceHost:
    """The realtime host, not yet started.

    Args:
        settings: The service's settings.
        hooks: Test seams (clock, base resolver under the SSRF guard, connect observer).
    """
    host = ServiceHost(settings, "realtime")
    metrics = RealtimeMetrics(host.metrics) if host.metrics is not None else None
    runtime = host[RUNTIME] = RealtimeRuntime(settings, hooks, metrics, host.tracing.http_trace_configs())
    host.add("runtime", lifecycle(runtime))
    host.on_scrape(runtime.refresh_metrics)
    servicer = RealtimeDataServicer(runtime)
    host.serve(
        [ServiceBinding(SERVICE_NAME, lambda s: realtime_pb2_grpc.add_RealtimeDataServicer_to_server(servicer, s))]
    )
    return host


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    serve_main(RealtimeSettings, "realtime", build_server)


if __name__ == "__main__":
    main()

"""Builds and runs the domain_inference gRPC server (`python -m domain_inference.server`).

Layer: composition root. `build_server` returns the service's `ServiceHost`, not started: the
runtime (artifacts, Triton channel pool, in-process fallback) starts first and closes after
the gRPC server drained — also when binding fails at start. `host[RUNTIME]` is the runtime.
"""

from __future__ import annotations

from agentplane.metrics import ReexportedMetrics, watch_breakers
from agentplane.rpc import ResourceKey, ServiceBinding, ServiceHost, closing, lifecycle, serve_main
from agentplane.v1 import inference_pb2_grpc
from domain_inference.config import DomainInferenceSettings
from domain_inference.metrics import InferenceMetrics
from domain_inference.runtime import InferenceRuntime
from domain_inference.service import DomainInferenceServicer

__all__ = ["RUNTIME", "SERVICE_NAME", "build_server", "main"]

SERVICE_NAME = "agentplane.v1.DomainInference"
RUNTIME = ResourceKey("runtime", InferenceRuntime)


def build_server(settings: DomainInferenceSettings) -> ServiceHost:
    """The domain_inference host, not yet started."""
    host = ServiceHost(settings, "domain_inference")
    metrics = InferenceMetrics(host.metrics) if host.metrics is not None else None
    runtime = host[RUNTIME] = InferenceRuntime(settings, metrics, host.tracing)
    host.add("runtime", lifecycle(runtime))
    if host.metrics is not None and metrics is not None:
        metrics.watch_batchers(runtime.batcher_stats)
        watch_breakers(host.metrics, lambda: {runtime.breaker.name: runtime.breaker.state})
        if settings.triton_client.reexport_metrics:
            timeout_s = settings.triton_client.metrics_timeout_s
            triton = ReexportedMetrics(host.metrics, "inference_triton_up", settings.triton_metrics_url, timeout_s)
            host.add("triton_metrics", closing(triton))
            host.on_scrape(triton.refresh)
    servicer = DomainInferenceServicer(runtime, settings)
    host.serve(
        [ServiceBinding(SERVICE_NAME, lambda s: inference_pb2_grpc.add_DomainInferenceServicer_to_server(servicer, s))]
    )
    return host


def main() -> None:
    """Load settings, then serve until SIGTERM."""
    serve_main(DomainInferenceSettings, "domain_inference", build_server)


if __name__ == "__main__":
    main()

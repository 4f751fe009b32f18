"""gRPC server bootstrap shared by every service (grpc.aio).

Layer: shared core, RPC boundary. `GrpcServer` wires the policy interceptor, the
standard health service (grpc.health.v1, one status per service), server
reflection, message-size limits, keepalive and load shedding. Its `stop` drains:
health goes NOT_SERVING, new calls are refused, in-flight calls get the grace
period to finish. A process runs it as one resource of its `ServiceHost` (host.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from agentplane.admission import Admission
from agentplane.limits import TenantLimiter
from agentplane.metrics import RpcMetrics
from agentplane.rpc.credentials import PeerIdentityInterceptor, server_credentials
from agentplane.rpc.interceptors import PolicyInterceptor
from agentplane.settings import ServiceSettings
from agentplane.tls import check_plaintext_bind
from agentplane.tracing import Tracing

__all__ = ["GrpcServer", "ServiceBinding"]

log = logging.getLogger("agentplane.rpc.server")


@dataclass(frozen=True)
class ServiceBinding:
    """One gRPC service to host: its full name and how to add its servicer."""

    name: str
    """Full proto name, e.g. "agentplane.v1.LLMGateway" (health and reflection use it)."""
    register: Callable[[grpc.aio.Server], None]
    """Adds the servicer to the server, e.g. `lambda s: add_LLMGatewayServicer_to_server(x, s)`."""


class GrpcServer:
    """A started-once, stopped-once gRPC server with the platform's policies.

    Args:
        settings: The service's settings (server, auth and limit sections are used).
        services: The services to host.
        admission: Caller admission; default: built from `settings.auth` and `settings.limits`.
            An HTTP front in the same process passes the same one so both share keys and limits.
        metrics: RED metrics of every method (None: not recorded).
        tracing: Tracing; when on, its span interceptor runs first and the calls' trace ids are the spans'.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        services: Sequence[ServiceBinding],
        *,
        admission: Admission | None = None,
        metrics: RpcMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._settings = settings
        self._services = tuple(services)
        self.admission = admission or Admission.from_settings(settings)
        self._metrics = metrics
        self._tracing = tracing or Tracing.off()
        self.health = health_aio.HealthServicer()
        self.port = 0
        self.health_port = 0
        self._server: grpc.aio.Server | None = None
        self._health_server: grpc.aio.Server | None = None
        self._stopped = asyncio.Event()

    @property
    def limiter(self) -> TenantLimiter | None:
        """The tenant limiter calls are admitted under."""
        return self.admission.limiter

    @property
    def address(self) -> str:
        """host:port the server listens on (after start)."""
        return f"{self._settings.server.host}:{self.port}"

    async def start(self) -> int:
        """Bind, start serving, mark every service SERVING; return the bound port."""
        cfg = self._settings.server
        options = [
            ("grpc.max_receive_message_length", cfg.max_receive_message_bytes),
            ("grpc.max_send_message_length", cfg.max_send_message_bytes),
            ("grpc.keepalive_time_ms", int(cfg.keepalive_time_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(cfg.keepalive_timeout_s * 1000)),
            ("grpc.max_connection_idle_ms", int(cfg.max_connection_idle_s * 1000)),
            ("grpc.http2.min_ping_interval_without_data_ms", 5000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.so_reuseport", 0),
            # gRPC core's backlog of calls not yet matched to a handler (defaults 1,000 / 3,000):
            # beyond it calls end CANCELLED before our admission control can answer them.
            ("grpc.server.max_pending_requests", cfg.max_pending_calls),
            ("grpc.server.max_pending_requests_hard_limit", cfg.max_pending_calls),
        ]
        hosted = ", ".join(b.name for b in self._services)
        check_plaintext_bind(cfg.host, cfg.tls, f"the gRPC server of {hosted} (server.tls)")
        interceptors: list[grpc.aio.ServerInterceptor] = [
            *self._tracing.server_interceptors(),
            PolicyInterceptor(self.admission, self._metrics, traced=self._tracing.enabled),
        ]
        if cfg.tls.allowed_client_identities:  # before the policy: refused peers are not admitted or counted
            interceptors.insert(-1, PeerIdentityInterceptor(cfg.tls.allowed_client_identities, hosted))
        server = grpc.aio.server(
            interceptors=interceptors,
            options=options,
            maximum_concurrent_rpcs=cfg.max_concurrent_rpcs,
        )
        for binding in self._services:
            binding.register(server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        if cfg.reflection:
            names = [b.name for b in self._services]
            reflection.enable_server_reflection(
                [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
            )
        credentials = server_credentials(cfg.tls, "server")
        address = f"{cfg.host}:{cfg.port}"
        self.port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"could not bind {cfg.host}:{cfg.port}")
        await server.start()
        self._server = server
        if cfg.health_port is not None:
            await self._start_health_port(cfg.host, cfg.health_port)
        for binding in self._services:
            await self.set_serving(binding.name, True)
        log.info("serving %s on %s", ", ".join(b.name for b in self._services), self.address)
        return self.port

    async def _start_health_port(self, host: str, port: int) -> None:
        # Kubernetes' gRPC probes cannot speak TLS: the same health statuses, alone, in plaintext.
        health = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, health)
        self.health_port = health.add_insecure_port(f"{host}:{port}")
        if self.health_port == 0:
            raise OSError(f"could not bind the health port {host}:{port}")
        await health.start()
        self._health_server = health

    async def set_serving(self, service: str, serving: bool) -> None:
        """Report one service (or "" for the whole server) as SERVING or NOT_SERVING."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set(service, status)

    async def stop(self, grace_s: float | None = None) -> None:
        """Drain and stop: NOT_SERVING, refuse new calls, wait up to `grace_s` for in-flight ones.

        Idempotent.
        """
        if self._server is None or self._stopped.is_set():
            self._stopped.set()
            return
        self._stopped.set()
        await self.health.enter_graceful_shutdown()
        grace = self._settings.server.grace_period_s if grace_s is None else grace_s
        log.info("draining (grace %.1fs)", grace)
        await self._server.stop(grace)
        if self._health_server is not None:  # probes saw NOT_SERVING throughout the drain
            await self._health_server.stop(None)
        log.info("stopped")

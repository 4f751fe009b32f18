"""gRPC plumbing shared by every service: the service host, server bootstrap, client factory, interceptors, statuses."""

from agentplane.rpc.client import ServiceChannel, stream, unary
from agentplane.rpc.host import (
    CleanupContext,
    Closeable,
    HostCloseError,
    Lifecycle,
    ResourceKey,
    ServiceHost,
    closing,
    lifecycle,
    run_until_signal,
    serve_main,
)
from agentplane.rpc.server import GrpcServer, ServiceBinding
from agentplane.rpc.status import from_rpc_error, to_grpc_status

__all__ = [
    "CleanupContext",
    "Closeable",
    "GrpcServer",
    "HostCloseError",
    "Lifecycle",
    "ResourceKey",
    "ServiceBinding",
    "ServiceChannel",
    "ServiceHost",
    "closing",
    "from_rpc_error",
    "lifecycle",
    "run_until_signal",
    "serve_main",
    "stream",
    "to_grpc_status",
    "unary",
]

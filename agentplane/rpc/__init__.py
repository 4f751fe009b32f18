"""gRPC plumbing shared by every service: server bootstrap, client factory, interceptors, status mapping."""

from agentplane.rpc.client import ServiceChannel, stream, unary
from agentplane.rpc.server import GrpcServer, ServiceBinding, run_until_signal
from agentplane.rpc.status import from_rpc_error, to_grpc_status

__all__ = [
    "GrpcServer",
    "ServiceBinding",
    "ServiceChannel",
    "from_rpc_error",
    "run_until_signal",
    "stream",
    "to_grpc_status",
    "unary",
]

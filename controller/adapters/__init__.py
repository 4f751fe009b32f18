"""Outbound calls of the controller: the other services over gRPC, external tools over MCP."""

from controller.adapters.domain import DomainClient
from controller.adapters.downstream import Downstream
from controller.adapters.gateway import GatewayClient
from controller.adapters.realtime import RealtimeClient

__all__ = ["DomainClient", "Downstream", "GatewayClient", "RealtimeClient"]

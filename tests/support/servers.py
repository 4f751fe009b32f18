"""Run real gRPC servers on 127.0.0.1 inside tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agentplane.rpc import GrpcServer, ServiceChannel, ServiceHost
from tests.support.keys import raw_key


@asynccontextmanager
async def running(server: ServiceHost | GrpcServer) -> AsyncIterator[str]:
    """Start `server` on its configured (ephemeral) port; yield "127.0.0.1:port"; stop it after."""
    port = await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace_s=1.0)


def channel(address: str, key: str | None = "acme-user", **kwargs: object) -> ServiceChannel:
    """A client channel to `address` sending test key `key` (None = no key)."""
    return ServiceChannel([address], api_key=raw_key(key) if key else "", **kwargs)  # type: ignore[arg-type]

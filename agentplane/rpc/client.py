"""gRPC client factory: load-balanced channels with deadline and trace propagation.

Layer: shared core, RPC boundary. Services call each other only through channels
made here and the generated stubs. Every outgoing call:

- gets a timeout that never exceeds what is left of the incoming call's deadline
  (and is refused at once with DEADLINE_EXCEEDED when nothing is left);
- carries the caller's trace id, a parent request id, the API key, and the tenant
  it acts for (honoured only for keys with the `service` role);
- spreads over every address given (round_robin) instead of pinning one.

`unary` and `stream` turn transport errors into typed `AgentplaneError`s.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc

from agentplane import request_context
from agentplane.errors import DeadlineExceededError
from agentplane.rpc.credentials import open_channel
from agentplane.rpc.interceptors import API_KEY_HEADER, REQUEST_ID_HEADER, TENANT_HEADER, TRACE_ID_HEADER
from agentplane.rpc.status import from_rpc_error
from agentplane.settings import ClientSettings

__all__ = ["ServiceChannel", "resolve_api_key", "stream", "target_for", "unary"]

R = TypeVar("R")

_SERVICE_CONFIG = json.dumps(
    {"loadBalancingConfig": [{"round_robin": {}}], "methodConfig": [{"name": [{}], "waitForReady": False}]}
)


def target_for(addresses: Sequence[str]) -> str:
    """A gRPC target for one or more host:port addresses.

    IP addresses become one `ipv4:`/`ipv6:` target listing them all (round_robin
    spreads calls across them); a single hostname uses the DNS resolver, which also
    balances over every address the name resolves to.
    """
    if not addresses:
        raise ValueError("no addresses given")
    if len(addresses) == 1 and not addresses[0][:1].isdigit() and not addresses[0].startswith("["):
        return f"dns:///{addresses[0]}"
    family = "ipv6" if addresses[0].startswith("[") else "ipv4"
    return f"{family}:{','.join(addresses)}"


def resolve_api_key(settings: ClientSettings) -> str | None:
    """The key this client sends: inline setting first, then the first line of the key file."""
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    if settings.api_key_file is not None and Path(settings.api_key_file).exists():
        return Path(settings.api_key_file).read_text().strip().splitlines()[0]
    return None


class _Propagation:
    """What every outgoing call gets: key, tenant, trace, bounded timeout."""

    def __init__(self, api_key: str | None, default_timeout_s: float) -> None:
        self._api_key = api_key
        self._default_timeout_s = default_timeout_s

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        ctx = request_context.current()
        timeout = details.timeout if details.timeout is not None else self._default_timeout_s
        left = request_context.remaining_s()
        if left is not None:
            if left <= 0:
                raise DeadlineExceededError(
                    f"no time left for {details.method!r}: the incoming call's deadline has passed",
                    reason="DEADLINE_PROPAGATED",
                )
            timeout = min(timeout, left)
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata[TRACE_ID_HEADER] = ctx.trace_id or request_context.new_id()
        metadata[REQUEST_ID_HEADER] = request_context.new_id()
        if ctx.request_id:
            metadata["x-parent-request-id"] = ctx.request_id
        if self._api_key and API_KEY_HEADER not in metadata:
            metadata[API_KEY_HEADER] = self._api_key
        if ctx.tenant and TENANT_HEADER not in metadata:
            metadata[TENANT_HEADER] = ctx.tenant
        return grpc.aio.ClientCallDetails(
            method=details.method,
            timeout=timeout,
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )


# grpc.aio files an interceptor under the first interceptor type it is an instance of
# (an if/elif chain in grpc/aio/_channel.py), so one class deriving from both would
# never see server-streaming calls: each call type gets its own class.
class _UnaryPropagatingInterceptor(_Propagation, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class _StreamPropagatingInterceptor(_Propagation, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class ServiceChannel:
    """A grpc.aio channel to one service, with the platform's client policy.

    Args:
        addresses: host:port of every replica.
        settings: Client settings (key, default timeout, TLS and this client's certificate).
        api_key: Overrides the key from settings (CLI, tests).
        max_message_bytes: Largest message sent or received.
        interceptors: More client interceptors after the platform's own (tracing: a span per call).
    """

    def __init__(
        self,
        addresses: Sequence[str],
        settings: ClientSettings | None = None,
        *,
        api_key: str | None = None,
        max_message_bytes: int = 16 * 1024 * 1024,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    ) -> None:
        settings = settings or ClientSettings()
        key = api_key if api_key is not None else resolve_api_key(settings)
        self.target = target_for(addresses)
        self.channel = open_channel(
            self.target,
            settings.tls,
            options=[
                ("grpc.service_config", _SERVICE_CONFIG),
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
                ("grpc.enable_retries", 0),  # retries are ours: budgeted, deadline-aware
            ],
            interceptors=[
                _UnaryPropagatingInterceptor(key, settings.timeout_s),
                _StreamPropagatingInterceptor(key, settings.timeout_s),
                *interceptors,
            ],
        )

    async def aclose(self) -> None:
        """Close the channel; in-flight calls are cancelled."""
        await self.channel.close()

    async def __aenter__(self) -> ServiceChannel:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def unary(
    method: Callable[..., Awaitable[R]],
    request: Any,
    *,
    timeout_s: float | None = None,
    metadata: Sequence[tuple[str, str]] | None = None,
) -> R:
    """Call a unary stub method; map failures to typed errors.

    Args:
        method: The stub method.
        request: The request message.
        timeout_s: Call deadline; default the channel's (never beyond the incoming call's).
        metadata: Extra call metadata; an `x-api-key` here replaces the channel's key for
            this call (the MCP adapters forward each caller's own key).

    Raises:
        AgentplaneError: The subclass matching the received status.
    """
    try:
        return await method(request, timeout=timeout_s, metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        raise from_rpc_error(exc) from exc


async def stream(method: Callable[..., Any], request: Any, *, timeout_s: float | None = None) -> AsyncIterator[Any]:
    """Iterate a server-streaming stub method; map failures to typed errors.

    Raises:
        AgentplaneError: The subclass matching the received status.
    """
    call = method(request, timeout=timeout_s)
    try:
        async for item in call:
            yield item
    except grpc.aio.AioRpcError as exc:
        raise from_rpc_error(exc) from exc
    finally:
        call.cancel()

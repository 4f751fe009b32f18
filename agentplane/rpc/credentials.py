"""gRPC transport security: server and channel credentials from the TLS settings, the identity allow-list.

Layer: shared core, RPC boundary. The one place TLS plugs into gRPC: `GrpcServer` binds its port
with `server_credentials` and installs `PeerIdentityInterceptor` when an allow-list is set;
`open_channel` (used by `ServiceChannel`, health probes and load-test users) dials with
`channel_credentials`. Mutual TLS is the server asking for client certificates signed by its
client CA; the allow-list then names which of those identities may call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc

from agentplane.errors import PermissionDeniedError
from agentplane.rpc.status import to_grpc_status
from agentplane.settings import ClientTlsSettings, ServerTlsSettings
from agentplane.tls import identity_allowed, read_pem

__all__ = [
    "PeerIdentityInterceptor",
    "channel_credentials",
    "channel_options",
    "open_channel",
    "peer_identities",
    "server_credentials",
]

ChannelOption = tuple[str, Any]


def server_credentials(tls: ServerTlsSettings, what: str) -> grpc.ServerCredentials | None:
    """TLS credentials of a gRPC server (None: plaintext).

    With `client_ca_file`, clients must present a certificate that chains to it.

    Raises:
        SettingsError: A file is missing or holds no PEM data.
    """
    if tls.cert_file is None or tls.key_file is None:
        return None
    pair = (read_pem(tls.key_file, f"{what} tls.key_file"), read_pem(tls.cert_file, f"{what} tls.cert_file"))
    client_ca = read_pem(tls.client_ca_file, f"{what} tls.client_ca_file") if tls.client_ca_file else None
    return grpc.ssl_server_credentials([pair], root_certificates=client_ca, require_client_auth=client_ca is not None)


def channel_credentials(tls: ClientTlsSettings) -> grpc.ChannelCredentials | None:
    """TLS credentials of a client channel, with this client's certificate when set (None: plaintext).

    Raises:
        SettingsError: A file is missing or holds no PEM data.
    """
    if not tls.enabled:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=read_pem(tls.ca_file, "client tls.ca_file") if tls.ca_file else None,
        private_key=read_pem(tls.key_file, "client tls.key_file") if tls.key_file else None,
        certificate_chain=read_pem(tls.cert_file, "client tls.cert_file") if tls.cert_file else None,
    )


def channel_options(tls: ClientTlsSettings) -> list[ChannelOption]:
    """Channel options TLS needs: the name to verify when it is not the dialled host."""
    return [("grpc.ssl_target_name_override", tls.server_name)] if tls.enabled and tls.server_name else []


def open_channel(
    target: str,
    tls: ClientTlsSettings,
    *,
    options: Sequence[ChannelOption] = (),
    interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
) -> grpc.aio.Channel:
    """A grpc.aio channel to `target`, over TLS when `tls.enabled`."""
    creds = channel_credentials(tls)
    all_options = [*options, *channel_options(tls)]
    if creds is None:
        return grpc.aio.insecure_channel(target, options=all_options, interceptors=interceptors)
    return grpc.aio.secure_channel(target, creds, options=all_options, interceptors=interceptors)


def peer_identities(context: grpc.aio.ServicerContext) -> list[str]:
    """The calling client's certificate identities (SANs, else the CN); empty without one."""
    return [i.decode(errors="replace") if isinstance(i, bytes) else str(i) for i in context.peer_identities() or ()]


_HEALTH_PREFIX = "/grpc.health.v1.Health/"


class PeerIdentityInterceptor(grpc.aio.ServerInterceptor):
    """Refuses calls whose client certificate names no allowed identity (PERMISSION_DENIED).

    Health checks are exempt (still over TLS, with a certificate of the CA when mutual): the
    supervisors and status tools that probe every service are not among its callers.

    Args:
        allowed: Identities allowed to call (certificate DNS/URI SANs, or the CN).
        service: This server's name, for the refusal message.
    """

    def __init__(self, allowed: Sequence[str], service: str) -> None:
        self._allowed = tuple(allowed)
        self._service = service

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(_HEALTH_PREFIX):
            return handler
        return self._wrap(handler)

    async def _refuse_unless_allowed(self, context: grpc.aio.ServicerContext) -> None:
        identities = peer_identities(context)
        if identity_allowed(identities, self._allowed):
            return
        shown = ", ".join(identities) or "none"
        err = PermissionDeniedError(
            f"client certificate identity ({shown}) may not call {self._service}; allowed: {', '.join(self._allowed)}",
            reason="PEER_IDENTITY_NOT_ALLOWED",
        )
        status = to_grpc_status(err)
        await context.abort(status.code, status.details, status.trailing_metadata)

    def _wrap(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary is not None:
            behavior = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await self._refuse_unless_allowed(context)
                return await behavior(request, context)

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            stream_behavior = handler.unary_stream

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                await self._refuse_unless_allowed(context)
                async for item in stream_behavior(request, context):
                    yield item

            return grpc.unary_stream_rpc_method_handler(
                stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client-streaming methods: none in the agentplane contracts

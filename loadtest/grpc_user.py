"""A Locust user that calls agentplane over gRPC and reports every call to Locust.

Layer: load test client (no service imports: only the generated stubs).
`grpc.experimental.gevent.init_gevent()` must run before any channel exists, so this
module calls it at import, before Locust spawns users: Locust's workers are gevent
greenlets, and grpc's own threads would otherwise block them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import grpc
import grpc.experimental.gevent as grpc_gevent
from locust import User

from agentplane.rpc.credentials import channel_credentials, channel_options
from agentplane.settings import ClientTlsSettings

grpc_gevent.init_gevent()

__all__ = ["RESOURCE_EXHAUSTED", "GrpcUser", "client_tls"]

RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def client_tls(options: Any) -> ClientTlsSettings:
    """TLS of the users' channels from the `--tls-*` command-line options (plaintext without them)."""
    files = {f: getattr(options, f"tls_{f}", None) for f in ("ca_file", "cert_file", "key_file")}
    server_name = getattr(options, "tls_server_name", None) or ""
    if not any(files.values()) and not server_name:
        return ClientTlsSettings()
    return ClientTlsSettings(enabled=True, server_name=server_name, **{k: v for k, v in files.items() if v})


class GrpcUser(User):
    """Base of the gRPC users: one channel per user, round_robin over `host` addresses.

    `host` is "127.0.0.1:50051" or a comma-separated list of replicas; `--tls-ca-file` (and
    `--tls-cert-file`/`--tls-key-file` for mutual TLS) make the channels use TLS.
    """

    abstract = True
    stub_class: ClassVar[Any]  # a generated *Stub class
    api_key: str = ""
    timeout_s: float = 30.0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        addresses = [a.strip() for a in (self.host or "127.0.0.1:50051").split(",") if a.strip()]
        target = addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)
        tls = client_tls(getattr(environment, "parsed_options", None))
        options = [("grpc.lb_policy_name", "round_robin"), ("grpc.enable_retries", 0), *channel_options(tls)]
        credentials = channel_credentials(tls)
        self._channel = (
            grpc.secure_channel(target, credentials, options=options)
            if credentials is not None
            else grpc.insecure_channel(target, options=options)
        )
        self.stub = type(self).stub_class(self._channel)

    def on_stop(self) -> None:
        self._channel.close()

    def call(
        self, name: str, method: Callable[..., Any], request: Any, *, metadata: tuple[tuple[str, str], ...] = ()
    ) -> Any:
        """Call `method`, fire one Locust request event (name, time, size, exception), return the reply or None."""
        started = time.perf_counter()
        response, exception, size = None, None, 0
        try:
            response = method(request, timeout=self.timeout_s, metadata=(("x-api-key", self.api_key), *metadata))
            size = response.ByteSize()
        except grpc.RpcError as exc:
            exception = exc
        self.environment.events.request.fire(
            request_type="grpc",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=size,
            response=response,
            context={"code": exception.code().name if isinstance(exception, grpc.RpcError) else "OK"},
            exception=exception,
        )
        return response

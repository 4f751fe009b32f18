"""One service host: resources started in order, closed in reverse order, errors collected.

Layer: shared core, process lifecycle. Every agentplane process is a `ServiceHost`: its
long-lived parts (stores, runtimes, channels, the gRPC server, an HTTP front) are
registered in start order as cleanup contexts — the shape of aiohttp's `cleanup_ctx`: an
async generator that starts the resource, yields once, and closes it after the yield.
`start` enters them in order; when one fails, those already started are closed in
reverse order and the failure is raised. `stop` closes every started resource in reverse
order, keeps going when one fails, and raises what failed afterwards (one error as it
is, several as `HostCloseError`). `serve_main` is every service's `main()`: load
settings, configure logging, build the host, serve until SIGTERM or SIGINT, drain.

Typed state lives in the host under `ResourceKey`s (aiohttp's `AppKey`), so tests and
composition code reach a service's parts as `host[RUNTIME]` without string keys.

Where platform concerns plug in, once for every service:
- process-wide set-up (logging) goes in `serve_main`;
- resources every host carries are registered in `ServiceHost.__init__`, ahead of the
  service's own, so they start first and close last: the tracing provider (`host.tracing`;
  closed last, so it exports the spans of everything closed before it) and the /metrics
  endpoint (`host.metrics`, the service's registry, and `host.rpc`, the RED metrics both
  fronts record), when metrics are enabled;
- transport security and the listening socket belong to `GrpcServer.start` (`serve`);
- who this replica is (`identity`) is fixed when the host is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, cast

from agentplane.admission import Admission
from agentplane.auth import ApiKeyStore
from agentplane.log import configure_logging
from agentplane.metrics import MetricsEndpoint, MetricsRegistry, Refresher, RpcMetrics
from agentplane.rpc.server import GrpcServer, ServiceBinding
from agentplane.settings import ServiceSettings, load_settings
from agentplane.tracing import Tracing

__all__ = [
    "CleanupContext",
    "Closeable",
    "HostCloseError",
    "Lifecycle",
    "ResourceKey",
    "ServiceHost",
    "closing",
    "lifecycle",
    "run_until_signal",
    "serve_main",
]

log = logging.getLogger("agentplane.rpc.host")

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)

CleanupContext = Callable[[], AsyncIterator[None]]
"""An async generator function: start the resource, `yield` once, close it after the yield."""


class Lifecycle(Protocol):
    """A long-lived object with an explicit start and an idempotent close."""

    async def start(self) -> object:
        """Open what the object needs (connections, threads, tasks)."""

    async def aclose(self) -> None:
        """Release it; safe to call twice."""


def lifecycle(resource: Lifecycle) -> CleanupContext:
    """The cleanup context of an object with `start()` and `aclose()`."""

    async def ctx() -> AsyncIterator[None]:
        await resource.start()
        yield
        await resource.aclose()

    return ctx


class Closeable(Protocol):
    """An object that needs no start, only a close (channels, clients)."""

    async def aclose(self) -> None:
        """Release it; safe to call twice."""


def closing(*resources: Closeable) -> CleanupContext:
    """The cleanup context of objects that open lazily: nothing at start, `aclose()` in reverse at close."""

    async def ctx() -> AsyncIterator[None]:
        yield
        for resource in reversed(resources):
            await resource.aclose()

    return ctx


class ResourceKey(Generic[T]):
    """A typed key of the host's state (`host[key] = value`, `host[key]` is typed).

    Args:
        name: What the value is, for errors and `repr`.
        kind: The value's type (documentation and type inference only).
    """

    __slots__ = ("name",)

    def __init__(self, name: str, kind: type[T] | None = None) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ResourceKey({self.name!r})"


class HostCloseError(ExceptionGroup):
    """Several resources failed to close; each failure is in `exceptions`."""


@dataclass
class _Entered:
    name: str
    generator: AsyncIterator[None]


class ServiceHost:
    """The resources of one process, with one start and one stop.

    Args:
        settings: The service's settings (the gRPC server's sections are used by `serve`;
            `metrics` and `tracing` by the host itself).
        name: The service's name ("gateway", "controller", ...), used in logs, metrics and traces.
    """

    def __init__(self, settings: ServiceSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self._contexts: list[tuple[str, CleanupContext]] = []
        self._entered: list[_Entered] = []
        self._state: dict[ResourceKey[Any], Any] = {}
        self._grpc: GrpcServer | None = None
        self._grace_s: float | None = None
        self._started = False
        self.tracing = Tracing.from_settings(name, settings.tracing)
        """The service's tracing (off unless `[tracing] enabled`)."""
        self.add("tracing", closing(self.tracing))
        self.metrics: MetricsRegistry | None = None
        """The service's metrics registry (None when `[metrics] enabled = false`)."""
        self.rpc: RpcMetrics | None = None
        """RED metrics of the inbound calls, shared by the gRPC server and an HTTP front."""
        self.metrics_endpoint: MetricsEndpoint | None = None
        if settings.metrics.enabled:
            self.metrics = MetricsRegistry(name, settings.metrics)
            self.rpc = RpcMetrics(self.metrics)
            keys = ApiKeyStore.from_settings(settings.auth, settings.data_dir) if settings.metrics.require_key else None
            self.metrics_endpoint = MetricsEndpoint(settings.metrics, self.metrics, keys)
            self.add("metrics", lifecycle(self.metrics_endpoint))

    def on_scrape(self, refresher: Refresher) -> None:
        """Run `refresher` before every scrape of /metrics (values read from stores or other processes).

        Nothing happens when metrics are off.
        """
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.add_refresher(refresher)

    # --- registration --------------------------------------------------------------

    def add(self, name: str, ctx: CleanupContext) -> None:
        """Register a resource; resources start in registration order and close in reverse.

        Raises:
            RuntimeError: The host already started.
        """
        if self._started:
            raise RuntimeError(f"{self.name}: resource {name!r} added after start")
        self._contexts.append((name, ctx))

    def serve(self, services: Sequence[ServiceBinding], *, admission: Admission | None = None) -> GrpcServer:
        """Register the gRPC server hosting `services` (it drains before what was added earlier closes).

        Args:
            services: The gRPC services to host.
            admission: Caller admission; default: built from the settings' auth and limits.
                An HTTP front in the same process passes the same one so both share keys and limits.

        Raises:
            RuntimeError: A gRPC server is already registered.
        """
        if self._grpc is not None:
            raise RuntimeError(f"{self.name} already serves gRPC")
        server = GrpcServer(self.settings, services, admission=admission, metrics=self.rpc, tracing=self.tracing)
        self._grpc = server

        async def grpc_server() -> AsyncIterator[None]:
            await server.start()
            yield
            await server.stop(self._grace_s)

        self.add("grpc", grpc_server)
        return server

    def __setitem__(self, key: ResourceKey[T], value: T) -> None:
        self._state[key] = value

    def __getitem__(self, key: ResourceKey[T]) -> T:
        try:
            return cast(T, self._state[key])
        except KeyError:
            raise KeyError(f"{self.name} has no {key.name}") from None

    def get(self, key: ResourceKey[T]) -> T | None:
        """The value under `key`, or None when the service has none."""
        return cast("T | None", self._state.get(key))

    @property
    def grpc(self) -> GrpcServer:
        """The gRPC server registered by `serve`.

        Raises:
            RuntimeError: The host serves no gRPC.
        """
        if self._grpc is None:
            raise RuntimeError(f"{self.name} serves no gRPC")
        return self._grpc

    @property
    def port(self) -> int:
        """The bound gRPC port (after start); 0 when the host serves no gRPC."""
        return self._grpc.port if self._grpc is not None else 0

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> int:
        """Start every resource in order; return the bound gRPC port (0 without gRPC).

        Raises:
            Exception: The first resource that failed to start; the ones started before it
                were closed in reverse order (their own close errors are logged).
            RuntimeError: Started twice.
        """
        if self._started:
            raise RuntimeError(f"{self.name} was already started")
        self._started = True
        for name, ctx in self._contexts:
            generator = ctx()
            try:
                await anext(generator)
            except BaseException as exc:
                log.error("%s: %s failed to start: %r", self.name, name, exc)
                await self._close_entered(on_failure=exc)
                raise
            self._entered.append(_Entered(name, generator))
        log.info("%s started (%s)", self.name, ", ".join(name for name, _ in self._contexts))
        return self.port

    async def stop(self, grace_s: float | None = None) -> None:
        """Close every started resource in reverse order (idempotent).

        Args:
            grace_s: How long the gRPC server lets in-flight calls finish; default: the settings'.

        Raises:
            Exception: The one resource that failed to close, or `HostCloseError` with several.
        """
        self._grace_s = grace_s
        errors = await self._close_entered(on_failure=None)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise HostCloseError(f"{self.name}: {len(errors)} resources failed to close", errors)

    aclose = stop

    async def _close_entered(self, *, on_failure: BaseException | None) -> list[Exception]:
        errors: list[Exception] = []
        while self._entered:
            entered = self._entered.pop()
            try:
                await anext(entered.generator)
            except StopAsyncIteration:
                continue
            except Exception as exc:
                log.error("%s: closing %s failed: %r", self.name, entered.name, exc)
                exc.add_note(f"while closing {entered.name} of {self.name}")
                errors.append(exc)
                continue
            with contextlib.suppress(Exception):
                await cast(Any, entered.generator).aclose()
            errors.append(RuntimeError(f"{self.name}: the cleanup context of {entered.name} yielded twice"))
        if on_failure is not None:
            for err in errors:
                on_failure.add_note(f"and then: {err!r}")
        return errors

    async def __aenter__(self) -> ServiceHost:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def run_until_signal(host: ServiceHost, *, ready: Callable[[ServiceHost], object] | None = None) -> None:
    """Start `host`, serve until SIGTERM or SIGINT, then stop it (drain, close in reverse).

    Args:
        host: The host to run (not yet started).
        ready: Called once every resource started, e.g. to print the bound port
            (the supervisor waits on health, not on output).
    """
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    await host.start()
    try:
        if ready is not None:
            ready(host)
        await stop_requested.wait()
    finally:
        await host.stop()


def serve_main(settings_cls: type[S], name: str, build: Callable[[S], ServiceHost]) -> None:
    """A service's `main()`: load settings, configure logging, build, serve until SIGTERM.

    Args:
        settings_cls: The service's settings class.
        name: Its section in the TOML file and environment ("gateway", ...), also the log name.
        build: Builds the host from the settings (nothing may start before `start`).
    """
    settings = load_settings(settings_cls, name)
    configure_logging(name, settings.log.level, json_format=settings.log.json_format)

    async def serve() -> None:
        await run_until_signal(build(settings))

    if settings.use_uvloop:
        import uvloop

        uvloop.run(serve())
    else:
        asyncio.run(serve())

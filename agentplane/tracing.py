"""OpenTelemetry traces of one service: provider, instrumentation, W3C trace context.

Layer: shared core. Tracing is off by default, and off means absent: `Tracing.off()`
installs no interceptor, no trace config and no span processor, so the serving path
pays nothing. On (`[tracing] enabled = true`), the service gets its own
`TracerProvider` (resource `service.name = agentplane-<service>`, the Prometheus job
names: agentplane-domain-inference) exporting by OTLP when an endpoint is configured,
and:

- `server_interceptors()` / `client_interceptors()`: the opentelemetry-instrumentation-grpc
  aio interceptors, a span per gRPC call on both sides, W3C `traceparent` in the metadata;
- `http_trace_configs()`: the opentelemetry-instrumentation-aiohttp-client trace config,
  a span per upstream HTTP request (providers, fetched pages) with `traceparent` sent;
- `span()`: spans of our own (a task's execution, an HTTP front request).

The request context's `trace_id` is the span's trace id while tracing is on (see
`current_trace_id`), so audit records and log lines carry the id that finds the trace.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from agentplane.settings import TracingSettings

if TYPE_CHECKING:
    import aiohttp
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["Tracing", "current_trace_id", "parent_from_trace_id"]

_TRACER_NAME = "agentplane"


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None outside a recorded trace."""
    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


def parent_from_trace_id(trace_id: str) -> otel_context.Context | None:
    """A remote parent in trace `trace_id` (work resumed after a restart continues its trace).

    Returns None when `trace_id` is not 32 hex digits (a caller-chosen id).
    """
    if len(trace_id) != 32:
        return None
    try:
        tid = int(trace_id, 16)
    except ValueError:
        return None
    if tid == 0:
        return None
    parent = trace.SpanContext(
        trace_id=tid,
        span_id=random.getrandbits(64) or 1,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


class Tracing:
    """One service's tracing: a provider and the instrumentation made from it, or nothing.

    Args:
        provider: The SDK provider spans go to; None = tracing off.
        owns_provider: `aclose` shuts the provider down (not when a test shares one between services).
    """

    def __init__(self, provider: TracerProvider | None = None, *, owns_provider: bool = False) -> None:
        self.provider = provider
        self._owns_provider = owns_provider
        self._tracer = provider.get_tracer(_TRACER_NAME) if provider is not None else None

    @classmethod
    def off(cls) -> Tracing:
        """Tracing off: nothing installed, nothing recorded."""
        return cls(None)

    @classmethod
    def from_settings(cls, service: str, settings: TracingSettings) -> Tracing:
        """The service's tracing as configured: off, on without export, or spans batched to the OTLP collector.

        Args:
            service: The service's name ("controller", ...).
            settings: The [tracing] settings.
        """
        if not settings.enabled:
            return cls.off()
        provider = cls.provider_for(service, settings.sample_ratio)
        if settings.otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            exporter = OTLPSpanExporter(
                endpoint=settings.otlp_endpoint, insecure=settings.otlp_insecure, timeout=settings.export_timeout_s
            )
            provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider, owns_provider=True)

    @staticmethod
    def provider_for(service: str, sample_ratio: float = 1.0) -> TracerProvider:
        """A provider for `service` (no processor yet): parent-based sampling at `sample_ratio` for new traces."""
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        return TracerProvider(
            resource=Resource.create({"service.name": f"agentplane-{service.replace('_', '-')}"}),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded."""
        return self.provider is not None

    def server_interceptors(self) -> list[Any]:
        """gRPC server interceptors that open a span per call (place them first); none when off."""
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.grpc import aio_server_interceptor

        return [aio_server_interceptor(tracer_provider=self.provider)]  # type: ignore[no-untyped-call]

    def client_interceptors(self) -> list[Any]:
        """gRPC channel interceptors that open a span per call and send `traceparent`; none when off."""
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.grpc import aio_client_interceptors

        return list(aio_client_interceptors(tracer_provider=self.provider))  # type: ignore[no-untyped-call]

    def http_trace_configs(self) -> list[aiohttp.TraceConfig]:
        """aiohttp client trace configs: a span per outgoing request, `traceparent` sent; none when off."""
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.aiohttp_client import create_trace_config

        # The query string may carry credentials or personal data: spans get the URL without it.
        return [create_trace_config(url_filter=lambda url: str(url.with_query(None)), tracer_provider=self.provider)]

    @contextmanager
    def span(
        self,
        name: str,
        *,
        parent: otel_context.Context | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: Mapping[str, str | int | float | bool] | None = None,
    ) -> Iterator[trace.Span | None]:
        """A span of our own, current for the block (None and no cost when off).

        Args:
            name: Span name.
            parent: Its parent context; default the current one.
            kind: SERVER for requests received, INTERNAL for work within a service.
            attributes: Span attributes (never secrets or personal data).
        """
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes) as span:
            yield span

    def capture(self) -> otel_context.Context | None:
        """The current context, to continue the trace in work started later (None when off)."""
        return otel_context.get_current() if self.provider is not None else None

    def extract(self, headers: Mapping[str, str]) -> otel_context.Context | None:
        """The caller's W3C trace context from HTTP headers (None when off)."""
        return propagate.extract(headers) if self.provider is not None else None

    async def aclose(self) -> None:
        """Export what is buffered and stop an owned provider (idempotent)."""
        provider, self.provider, self._tracer = self.provider, None, None
        if provider is not None and self._owns_provider:
            await asyncio.to_thread(provider.shutdown)

"""The RealtimeData servicer: protobuf in, domain calls, protobuf out.

Layer: RPC boundary. The only module that translates `agentplane.v1.realtime_pb2`
messages to and from the domain. Errors are raised as agentplane errors (the
shared interceptor maps them to gRPC status): INVALID_ARGUMENT for bad URLs,
options and schemas; PERMISSION_DENIED for the SSRF guard and robots.txt;
FAILED_PRECONDITION for disallowed content types and redirect loops;
RESOURCE_EXHAUSTED for size limits; DEADLINE_EXCEEDED; UNAVAILABLE upstream.
Watched sources are scoped to the caller's tenant.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import grpc
from google.protobuf import struct_pb2, timestamp_pb2
from typing_extensions import override

from agentplane import request_context
from agentplane.errors import FieldViolation, InvalidArgumentError
from agentplane.v1 import realtime_pb2 as pb
from agentplane.v1 import realtime_pb2_grpc
from realtime.config import RealtimeSettings
from realtime.extraction import ExtractionResult, FieldSpec, FieldType, Schema, validate_schema
from realtime.injection import InjectionReport
from realtime.page import Window, window
from realtime.retrieval import View
from realtime.runtime import RealtimeRuntime
from realtime.sources import Snapshot, Source
from realtime.struct_wire import encode_struct
from realtime.volatility import Volatility

__all__ = ["RealtimeDataServicer"]

_VOLATILITY = {
    pb.VOLATILITY_SECONDS: Volatility.SECONDS,
    pb.VOLATILITY_MINUTES: Volatility.MINUTES,
    pb.VOLATILITY_HOURS: Volatility.HOURS,
    pb.VOLATILITY_DAYS: Volatility.DAYS,
    pb.VOLATILITY_STATIC: Volatility.STATIC,
}
_VOLATILITY_PB = {v: k for k, v in _VOLATILITY.items()}
_SCHEMA_CACHE_SIZE = 256
_FETCH_VIEWS: dict[int, tuple[View, ...]] = {
    pb.CONTENT_FORMAT_UNSPECIFIED: ("title", "injection", "markdown", "text"),
    pb.CONTENT_FORMAT_MARKDOWN: ("title", "injection", "markdown"),
    pb.CONTENT_FORMAT_TEXT: ("title", "injection", "text"),
}
_FIELD_TYPE = {
    pb.FIELD_TYPE_UNSPECIFIED: FieldType.TEXT,
    pb.FIELD_TYPE_TEXT: FieldType.TEXT,
    pb.FIELD_TYPE_NUMBER: FieldType.NUMBER,
    pb.FIELD_TYPE_INTEGER: FieldType.INTEGER,
    pb.FIELD_TYPE_DATE: FieldType.DATE,
    pb.FIELD_TYPE_CURRENCY: FieldType.CURRENCY,
    pb.FIELD_TYPE_URL: FieldType.URL,
    pb.FIELD_TYPE_BOOLEAN: FieldType.BOOLEAN,
    pb.FIELD_TYPE_HTML: FieldType.HTML,
}


def _bad(field: str, message: str, reason: str = "BAD_OPTION") -> InvalidArgumentError:
    return InvalidArgumentError(f"{field}: {message}", reason=reason, violations=[FieldViolation(field, message)])


def _timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def _set_struct(target: struct_pb2.Struct, data: dict[str, Any]) -> None:
    """Fill `target` from `data` (written as wire bytes and parsed in C: see realtime.struct_wire)."""
    target.SetInParent()
    target.MergeFromString(encode_struct(data))


def _volatility(value: pb.Volatility.ValueType, field: str) -> Volatility | None:
    if value == pb.VOLATILITY_UNSPECIFIED:
        return None
    found = _VOLATILITY.get(value)
    if found is None:
        raise _bad(field, f"unknown volatility {value}")
    return found


def _injection(report: InjectionReport) -> pb.InjectionReport:
    return pb.InjectionReport(
        flagged=report.flagged,
        score=report.score,
        findings=[pb.InjectionFinding(kind=f.kind, excerpt=f.excerpt, detail=f.detail) for f in report.findings],
    )


def _field_spec(spec: pb.FieldSpec, where: str, max_depth: int, depth: int = 0) -> FieldSpec:
    # Stops at the nesting limit: the schema is untrusted and validate_schema sees it only afterwards.
    if spec.type not in _FIELD_TYPE:
        raise _bad(f"{where}.type", f"unknown field type {spec.type}", "BAD_SCHEMA")
    if spec.fields and depth >= max_depth:
        raise _bad(f"{where}.fields", f"nesting deeper than {max_depth} levels (extraction.max_depth)", "BAD_SCHEMA")
    return FieldSpec(
        name=spec.name,
        selector=spec.selector.strip(),
        attribute=spec.attribute.strip(),
        type=_FIELD_TYPE[spec.type],
        multiple=spec.multiple,
        required=spec.required,
        fields=tuple(_field_spec(f, f"{where}.fields[{i}]", max_depth, depth + 1) for i, f in enumerate(spec.fields)),
        pattern=spec.pattern,
    )


def _field_results(result: ExtractionResult) -> list[pb.FieldResult]:
    return [
        pb.FieldResult(name=f.name, found=f.found, count=f.count, required=f.required, error=f.error)
        for f in result.fields
    ]


class RealtimeDataServicer(realtime_pb2_grpc.RealtimeDataServicer):
    """Implements agentplane.v1.RealtimeData over a `RealtimeRuntime`.

    Args:
        runtime: The started runtime (fetcher, store, watch service).
    """

    def __init__(self, runtime: RealtimeRuntime) -> None:
        self._rt = runtime
        self._settings: RealtimeSettings = runtime.settings
        self._schemas: OrderedDict[bytes, Schema] = OrderedDict()
        """Validated schemas by their serialized form (callers repeat the same few schemas)."""

    def _schema(self, schema: pb.ExtractionSchema) -> Schema:
        key = schema.SerializeToString(deterministic=True)
        found = self._schemas.get(key)
        if found is not None:
            self._schemas.move_to_end(key)
            return found
        limit = self._settings.extraction.max_depth
        fields = tuple(_field_spec(f, f"schema.fields[{i}]", limit) for i, f in enumerate(schema.fields))
        validated = validate_schema(schema.name, fields, self._settings.extraction)
        self._schemas[key] = validated
        if len(self._schemas) > _SCHEMA_CACHE_SIZE:
            self._schemas.popitem(last=False)
        return validated

    def _timeout_s(self, options: pb.FetchOptions) -> float | None:
        if options.timeout_ms < 0:
            raise _bad("options.timeout_ms", "must not be negative")
        return options.timeout_ms / 1000.0 if options.timeout_ms else None

    @staticmethod
    def _tenant() -> str:
        return request_context.current().tenant or "default"

    @override
    async def Fetch(self, request: pb.FetchRequest, context: grpc.aio.ServicerContext) -> pb.FetchResponse:
        """Fetch one page: status, text and markdown window, links, freshness, injection report."""
        opts = request.options
        content = self._settings.content
        if opts.max_length < 0 or opts.max_length > content.max_length:
            raise _bad("options.max_length", f"must be between 0 (default) and {content.max_length}")
        if opts.start_index < 0:
            raise _bad("options.start_index", "must not be negative")
        if opts.format not in (pb.CONTENT_FORMAT_UNSPECIFIED, pb.CONTENT_FORMAT_MARKDOWN, pb.CONTENT_FORMAT_TEXT):
            raise _bad("options.format", f"unknown format {opts.format}")
        max_length = opts.max_length or content.default_max_length
        retriever = self._rt.retriever
        got = await retriever.retrieve(
            request.url,
            volatility=_volatility(opts.volatility, "options.volatility"),
            bypass_cache=opts.bypass_cache,
            timeout_s=self._timeout_s(opts),
        )
        views = ("title", "body_injection") if opts.raw else _FETCH_VIEWS[opts.format]
        await retriever.prepare(got, *views, *(("links",) if opts.include_links else ()))
        out, page = got.outcome, got.page
        win: Window
        text = ""
        if opts.raw:
            win = window(str(page.source), opts.start_index, max_length)
        elif opts.format == pb.CONTENT_FORMAT_TEXT:
            win = window(retriever.text(got), opts.start_index, max_length)
        else:
            win = window(retriever.markdown(got), opts.start_index, max_length)
            if opts.format == pb.CONTENT_FORMAT_UNSPECIFIED:
                text = window(retriever.text(got), opts.start_index, max_length).content
        report = retriever.body_injection(got) if opts.raw else retriever.injection(got)  # after rendering: reused
        resp = pb.FetchResponse(
            status_code=out.status,
            url=out.url,
            final_url=out.final_url,
            content_type=out.media_type,
            charset=page.charset if out.body else (out.charset or ""),
            fetched_at=_timestamp(out.fetched_at),
            from_cache=out.from_cache,
            age_s=got.age_s(retriever.now()),
            revalidated=out.revalidated,
            redirects=out.redirects,
            content_bytes=len(out.body),
            title=retriever.title(got),
            injection=_injection(report),
            total_length=win.total_length,
            start_index=win.start_index,
            next_index=win.next_index,
            truncated=win.truncated,
        )
        if opts.format == pb.CONTENT_FORMAT_TEXT and not opts.raw:
            resp.text = win.content
        else:
            resp.markdown = win.content
            resp.text = text
        if opts.include_links:
            resp.links.extend(pb.Link(url=ln.url, text=ln.text) for ln in retriever.links(got, content.max_links))
        return resp

    @override
    async def Extract(self, request: pb.ExtractRequest, context: grpc.aio.ServicerContext) -> pb.ExtractResponse:
        """Structured data from a URL or inline HTML by a declarative schema."""
        schema = self._schema(request.schema)
        retriever = self._rt.retriever
        which = request.WhichOneof("source")
        if which == "url":
            opts = request.options
            got = await retriever.retrieve(
                request.url,
                volatility=_volatility(opts.volatility, "options.volatility"),
                bypass_cache=opts.bypass_cache,
                timeout_s=self._timeout_s(opts),
            )
            await retriever.prepare(got)
            result = retriever.extract(got.page, schema)
            resp = pb.ExtractResponse(
                fields=_field_results(result),
                completeness=result.completeness,
                final_url=got.outcome.final_url,
                fetched_at=_timestamp(got.outcome.fetched_at),
                from_cache=got.outcome.from_cache,
                age_s=got.age_s(retriever.now()),
                injection=_injection(retriever.body_injection(got)),
            )
        elif which == "html":
            page = retriever.page_from_html(request.html, request.base_url)
            result = retriever.extract(page, schema)
            resp = pb.ExtractResponse(
                fields=_field_results(result),
                completeness=result.completeness,
                final_url=request.base_url,
                injection=_injection(page.body_injection),
            )
        else:
            raise _bad("source", "give either url or html", "NO_SOURCE")
        _set_struct(resp.data, result.data)
        return resp

    def _source(self, source: Source) -> pb.Source:
        return pb.Source(
            source_id=source.source_id,
            url=source.url,
            volatility=_VOLATILITY_PB[source.volatility],
            refresh_interval_s=source.refresh_interval_s,
            created_at=_timestamp(source.created_at),
            last_refreshed_at=_timestamp(source.last_refreshed_at),
            next_refresh_at=_timestamp(source.next_refresh_at),
            refresh_count=source.refresh_count,
            consecutive_failures=source.consecutive_failures,
            last_error=source.last_error,
            has_schema=source.schema is not None,
        )

    @override
    async def WatchSource(self, request: pb.WatchSourceRequest, context: grpc.aio.ServicerContext) -> pb.Source:
        """Register or update a watched source; its first snapshot is taken now."""
        if request.refresh_interval_s < 0:
            raise _bad("refresh_interval_s", "must not be negative")
        schema = self._schema(request.schema) if request.HasField("schema") and request.schema.fields else None
        source = await self._rt.watch.watch(
            self._tenant(),
            url=request.url,
            source_id=request.source_id.strip(),
            volatility=_volatility(request.volatility, "volatility"),
            schema=schema,
            refresh_interval_s=request.refresh_interval_s,
        )
        return self._source(source)

    def _snapshot(self, snap: Snapshot, source: Source) -> pb.Snapshot:
        msg = pb.Snapshot(
            source_id=snap.source_id,
            url=snap.url,
            fetched_at=_timestamp(snap.fetched_at),
            age_s=max(0.0, self._rt.clock.now() - snap.fetched_at),
            stale=self._rt.watch.is_stale(snap, source),
            status_code=snap.status_code,
            title=snap.title,
            text=snap.text,
            completeness=snap.completeness,
            content_sha256=snap.content_sha256,
            changed=snap.changed,
            version=snap.version,
            injection=_injection(snap.injection),
        )
        if snap.data is not None:
            _set_struct(msg.data, snap.data)
        return msg

    @override
    async def GetSnapshot(self, request: pb.GetSnapshotRequest, context: grpc.aio.ServicerContext) -> pb.Snapshot:
        """The latest snapshot of one of the caller's sources."""
        if not request.source_id:
            raise _bad("source_id", "is required")
        snap, source = await self._rt.watch.snapshot(self._tenant(), request.source_id)
        return self._snapshot(snap, source)

    @override
    async def ListSources(
        self, request: pb.ListSourcesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSourcesResponse:
        """The caller's watched sources, a page at a time."""
        if request.page_size < 0:
            raise _bad("page_size", "must not be negative")
        rows, token = await self._rt.watch.list(self._tenant(), request.page_size, request.page_token)
        return pb.ListSourcesResponse(sources=[self._source(s) for s in rows], next_page_token=token)

    @override
    async def UnwatchSource(
        self, request: pb.UnwatchSourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.UnwatchSourceResponse:
        """Stop watching one of the caller's sources (removed=false when there was none)."""
        if not request.source_id:
            raise _bad("source_id", "is required")
        return pb.UnwatchSourceResponse(removed=await self._rt.watch.unwatch(self._tenant(), request.source_id))

"""Real-time data over gRPC: fetch and extract.

Layer: controller adapters (translates agentplane.v1 realtime messages).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.protobuf import json_format

from agentplane.rpc import unary
from agentplane.v1 import realtime_pb2, realtime_pb2_grpc
from controller.adapters.downstream import Downstream
from controller.capabilities import ExtractOut, FetchOut

__all__ = ["RealtimeClient"]


class RealtimeClient:
    """Implements RealtimeCapability against agentplane.v1.RealtimeData."""

    def __init__(self, downstream: Downstream) -> None:
        self._down = downstream
        self._stub = realtime_pb2_grpc.RealtimeDataStub(downstream.channel.channel)

    async def fetch(self, url: str, *, max_length: int) -> FetchOut:
        """Fetch a page's text (first `max_length` characters)."""
        request = realtime_pb2.FetchRequest(url=url, options=realtime_pb2.FetchOptions(max_length=max_length))
        r, info = await self._down.call("Fetch", lambda t: unary(self._stub.Fetch, request, timeout_s=t))
        return FetchOut(
            url=url,
            final_url=r.final_url or url,
            status=r.status_code,
            title=r.title,
            text=r.text or r.markdown,
            fetched_at=r.fetched_at.ToDatetime(tzinfo=UTC),
            age_s=r.age_s,
            from_cache=r.from_cache,
            injection_flagged=r.injection.flagged,
            injection_score=r.injection.score,
            call=info,
        )

    async def extract(self, url: str, schema: dict[str, Any]) -> ExtractOut:
        """Extract `schema`'s fields (an ExtractionSchema as a JSON dict) from a page."""
        request = realtime_pb2.ExtractRequest(
            url=url, schema=json_format.ParseDict(schema, realtime_pb2.ExtractionSchema())
        )
        r, info = await self._down.call("Extract", lambda t: unary(self._stub.Extract, request, timeout_s=t))
        return ExtractOut(
            url=url,
            data=json_format.MessageToDict(r.data),
            found={f.name: f.found for f in r.fields},
            required_missing=tuple(f.name for f in r.fields if f.required and not f.found),
            completeness=r.completeness,
            fetched_at=r.fetched_at.ToDatetime(tzinfo=UTC),
            age_s=r.age_s,
            injection_flagged=r.injection.flagged,
            injection_score=r.injection.score,
            call=info,
        )

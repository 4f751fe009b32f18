"""HTTP plumbing shared by the provider adapters: pooled sessions, error mapping, SSE lines.

Layer: adapters (outbound I/O). `upstream_error` is the one place where aiohttp
exceptions and upstream HTTP statuses become `UpstreamError`s (most specific
match first, the original chained as the cause); `sse_lines` reads a
server-sent-event body line by line with a bound on the line length.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import orjson

from gateway.config import ProviderPoolSettings
from gateway.upstream import FailureKind, UpstreamError

__all__ = [
    "MAX_SSE_LINE_BYTES",
    "PooledSession",
    "failure_for_status",
    "json_body",
    "new_session",
    "parse_retry_after",
    "sse_lines",
    "upstream_error",
]

MAX_SSE_LINE_BYTES = 4 * 1024 * 1024


def new_session(
    settings: ProviderPoolSettings, trace_configs: Sequence[aiohttp.TraceConfig] = ()
) -> aiohttp.ClientSession:
    """One pooled session (keep-alive connections, bounded pool) for one provider kind."""
    connector = aiohttp.TCPConnector(
        limit=settings.max_connections,
        limit_per_host=settings.max_connections_per_host,
        keepalive_timeout=settings.keepalive_s,
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s),
        skip_auto_headers=("User-Agent",),
        raise_for_status=False,
        cookie_jar=aiohttp.DummyCookieJar(),  # providers set no cookies we want to keep
        trace_configs=list(trace_configs) or None,
    )


class PooledSession:
    """A provider adapter's pooled session, created on first use (inside the running loop).

    Args:
        settings: Pool sizes and limits of the session.
        trace_configs: aiohttp trace configs of the session (tracing).
    """

    def __init__(self, settings: ProviderPoolSettings, trace_configs: Sequence[aiohttp.TraceConfig] = ()) -> None:
        self._settings = settings
        self._trace_configs = tuple(trace_configs)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session."""
        if self._session is None:
            self._session = new_session(self._settings, self._trace_configs)
        return self._session

    async def aclose(self) -> None:
        """Close the pooled session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from `retry-after-ms`, or `Retry-After` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        with contextlib.suppress(ValueError):
            return max(0.0, float(millis) / 1000.0)
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_message(raw: bytes) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw[:300].decode(errors="replace")
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
        if isinstance(doc.get("detail"), str):
            return str(doc["detail"])[:300]
    return raw[:300].decode(errors="replace")


def failure_for_status(status: int, raw: bytes, headers: Any) -> UpstreamError:
    """The failure an error status stands for, with the upstream's message."""
    message = f"HTTP {status}: {_error_message(raw)}"
    if status == 429:
        return UpstreamError(
            FailureKind.RATE_LIMITED, message, http_status=status, retry_after_s=parse_retry_after(headers)
        )
    if status == 408:
        return UpstreamError(FailureKind.TIMEOUT, message, http_status=status)
    if status >= 500:
        return UpstreamError(
            FailureKind.SERVER_ERROR, message, http_status=status, retry_after_s=parse_retry_after(headers)
        )
    if status in (401, 403, 404):
        return UpstreamError(FailureKind.MISCONFIGURED, message, http_status=status)
    return UpstreamError(FailureKind.REJECTED, message, http_status=status)


def upstream_error(exc: BaseException, what: str) -> UpstreamError:
    """The `UpstreamError` a transport or parsing exception stands for (chain the original as its cause).

    Adapters wrap their calls in ``try: ... except Exception as exc: raise upstream_error(exc, name) from exc``
    (a plain try costs nothing on the hot path, unlike a generator-based context manager).
    """
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamError(FailureKind.TIMEOUT, f"{what}: timed out")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return UpstreamError(FailureKind.CONNECTION, f"{what}: connection dropped mid-answer ({exc})")
    if isinstance(exc, aiohttp.ClientError | ConnectionError):
        return UpstreamError(FailureKind.CONNECTION, f"{what}: {type(exc).__name__}: {exc}")
    if isinstance(exc, ValueError):  # JSON that does not parse, an over-long SSE line
        return UpstreamError(FailureKind.PROTOCOL, f"{what}: malformed answer ({exc})")
    if isinstance(exc, KeyError | TypeError | IndexError | AttributeError):
        return UpstreamError(FailureKind.PROTOCOL, f"{what}: unexpected answer shape ({exc!r})")
    return UpstreamError(FailureKind.CONNECTION, f"{what}: {type(exc).__name__}: {exc}")


async def json_body(resp: aiohttp.ClientResponse, max_bytes: int) -> Any:
    """Read and parse a JSON answer, refusing one larger than `max_bytes`.

    Raises:
        UpstreamError: An error status, or a body too large or not JSON.
    """
    length = resp.content_length
    if length is not None and length <= max_bytes:
        raw = await resp.read()
    else:
        raw = await _read_capped(resp, max_bytes)
    if resp.status >= 400:
        raise failure_for_status(resp.status, raw, resp.headers)
    return orjson.loads(raw)


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            if resp.status >= 400:
                break
            raise UpstreamError(FailureKind.PROTOCOL, f"answer larger than {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def sse_lines(resp: aiohttp.ClientResponse, idle_timeout_s: float) -> AsyncIterator[bytes]:
    """The non-empty lines of a server-sent-event body, stripped; each must come within `idle_timeout_s`.

    Raises:
        UpstreamError: An error status, silence longer than the idle timeout (TIMEOUT).
    """
    if resp.status >= 400:
        raise failure_for_status(resp.status, await _read_capped(resp, 64 * 1024), resp.headers)
    content = resp.content
    while True:
        try:
            async with asyncio.timeout(idle_timeout_s):
                line = await content.readline(max_line_length=MAX_SSE_LINE_BYTES)
        except TimeoutError:
            raise UpstreamError(FailureKind.TIMEOUT, f"stream silent for {idle_timeout_s:.1f}s") from None
        if not line:
            return
        line = line.strip()
        if line:
            yield line

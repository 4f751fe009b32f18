"""The HTTP transport on aiohttp: one shared session, guarded connects, bounded streaming bodies.

Layer: adapter (aiohttp). Implements `realtime.transport.HttpTransport`. The
session never follows redirects, never decompresses on its own (bodies are
decoded by bounded decoders while streaming, so a gzip bomb stops at the limit),
keeps no cookies, ignores proxy variables (a proxy would bypass the SSRF guard)
and resolves every name through the `GuardedResolver`. aiohttp exceptions are
translated into agentplane errors in one place, `_map_errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import aiohttp
from aiohttp.abc import AbstractResolver

from agentplane.errors import (
    AgentplaneError,
    FailedPreconditionError,
    InvalidArgumentError,
    ResourceExhaustedError,
    UnavailableError,
)
from realtime.adapters.resolver import ConnectObserver, ForbiddenAddressError, GuardedResolver, guarded_socket_factory
from realtime.config import FetchSettings
from realtime.decompression import make_decoder
from realtime.ssrf import AddressPolicy
from realtime.transport import BodyLimits, RawResponse

__all__ = ["AiohttpTransport"]

_NO_BODY = frozenset({204, 301, 302, 303, 304, 307, 308})
_ERROR_BODY_BYTES = 256 * 1024


def _forbidden(exc: BaseException) -> ForbiddenAddressError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ForbiddenAddressError):
            return seen
        os_error = getattr(seen, "os_error", None)
        if isinstance(os_error, ForbiddenAddressError):
            return os_error
        seen = seen.__cause__
    return None


@contextmanager
def _map_errors(url: str) -> Iterator[None]:
    """Translate aiohttp's exceptions for `url` into agentplane errors (the cause is chained)."""
    meta = {"url": url[:200]}
    try:
        yield
    except AgentplaneError:
        raise
    except aiohttp.InvalidURL as exc:
        raise InvalidArgumentError(f"the HTTP client cannot use {url!r}: {exc}", reason="BAD_URL") from exc
    except aiohttp.ClientConnectorDNSError as exc:
        forbidden = _forbidden(exc)
        if forbidden is not None:
            raise AddressPolicy.refusal(url, forbidden.reason) from exc
        raise UnavailableError(
            f"cannot resolve the host of {url}: {exc.os_error}", reason="DNS_FAILED", metadata=meta
        ) from exc
    except aiohttp.ConnectionTimeoutError as exc:
        raise UnavailableError(f"connecting to {url} timed out", reason="CONNECT_TIMEOUT", metadata=meta) from exc
    except aiohttp.ClientConnectorError as exc:
        forbidden = _forbidden(exc)
        if forbidden is not None:
            raise AddressPolicy.refusal(url, forbidden.reason) from exc
        raise UnavailableError(
            f"cannot connect to {url}: {exc.os_error}", reason="CONNECT_FAILED", metadata=meta
        ) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
        raise UnavailableError(f"{url}: the connection broke ({exc})", reason="CONNECTION_LOST", metadata=meta) from exc
    except aiohttp.ServerTimeoutError as exc:
        raise UnavailableError(f"{url}: the server stopped sending", reason="CONNECTION_LOST", metadata=meta) from exc
    except aiohttp.ClientResponseError as exc:
        raise UnavailableError(
            f"{url} sent a malformed HTTP response ({exc.message})", reason="BAD_RESPONSE", metadata=meta
        ) from exc
    except aiohttp.ClientError as exc:
        raise UnavailableError(f"fetching {url} failed: {exc}", reason="UPSTREAM_FAILED", metadata=meta) from exc


def _too_large(url: str, limit: int) -> ResourceExhaustedError:
    return ResourceExhaustedError(
        f"{url} is larger than {limit} bytes (max_body_bytes); the download was stopped",
        reason="PAGE_TOO_LARGE",
        metadata={"url": url[:200], "limit_bytes": str(limit)},
    )


def _headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in resp.headers.items():
        key = name.lower()
        if key not in out:
            out[key] = value
    return out


class AiohttpTransport:
    """One aiohttp ClientSession behind the SSRF guard.

    Args:
        settings: The [realtime.fetch] block.
        policy: The SSRF address policy.
        base_resolver: Resolver used under the guard (tests inject fakes).
        connect_observer: Told every (address, port) right before a socket connects.
        trace_configs: aiohttp trace configs of the session (tracing: a span per request).
    """

    def __init__(
        self,
        settings: FetchSettings,
        policy: AddressPolicy,
        *,
        base_resolver: AbstractResolver | None = None,
        connect_observer: ConnectObserver | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        self._settings = settings
        self._trace_configs = list(trace_configs)
        self._policy = policy
        self._base_resolver = base_resolver
        self._observer = connect_observer
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None

    async def start(self) -> None:
        """Create the shared session (inside the running loop)."""
        if self._session is not None:
            return
        self._resolver = GuardedResolver(self._policy, self._base_resolver)
        connector = aiohttp.TCPConnector(
            resolver=self._resolver,
            socket_factory=guarded_socket_factory(self._policy, self._observer),
            limit=self._settings.max_connections,
            limit_per_host=0,
            use_dns_cache=self._settings.dns_cache_ttl_s > 0,
            ttl_dns_cache=self._settings.dns_cache_ttl_s or None,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._settings.connect_timeout_s),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            raise_for_status=False,
            trace_configs=self._trace_configs or None,
        )

    async def aclose(self) -> None:
        """Close the session and its connections. Idempotent."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._resolver is not None:
            await self._resolver.close()
            self._resolver = None

    async def get(self, url: str, headers: Mapping[str, str], limits: BodyLimits) -> RawResponse:
        """GET `url` without following redirects; see `HttpTransport.get`."""
        if self._session is None:
            raise UnavailableError("the HTTP transport is not started", reason="NOT_STARTED")
        with _map_errors(url):
            async with self._session.get(url, headers=dict(headers), allow_redirects=False) as resp:
                media = resp.content_type.lower() if "content-type" in resp.headers else ""
                charset = resp.charset
                status = resp.status
                body, wire = b"", 0
                if 200 <= status < 300 and status not in _NO_BODY:
                    if media and limits.allowed_types is not None and media not in limits.allowed_types:
                        raise FailedPreconditionError(
                            f"{url} is {media}, which is not an allowed content type "
                            f"({', '.join(sorted(limits.allowed_types))})",
                            reason="CONTENT_TYPE_NOT_ALLOWED",
                            metadata={"url": url[:200], "content_type": media},
                        )
                    body, wire = await self._read(resp, url, limits)
                elif 400 <= status < 500 and (limits.allowed_types is None or media in limits.allowed_types):
                    small = BodyLimits(
                        min(limits.max_wire_bytes, _ERROR_BODY_BYTES),
                        min(limits.max_decoded_bytes, _ERROR_BODY_BYTES),
                        truncate=True,
                    )
                    body, wire = await self._read(resp, url, small)
                if not media and body:
                    media = "text/html" if body.lstrip()[:1] == b"<" else "text/plain"
                return RawResponse(status, str(resp.url), _headers(resp), media, charset, body, wire)

    async def _read(self, resp: aiohttp.ClientResponse, url: str, limits: BodyLimits) -> tuple[bytes, int]:
        length = resp.content_length
        if length is not None and length > limits.max_wire_bytes and not limits.truncate:
            raise _too_large(url, limits.max_wire_bytes)
        decoder = make_decoder(resp.headers.get("Content-Encoding", ""), limits.max_decoded_bytes)
        parts: list[bytes] = []
        wire = 0
        try:
            async for chunk in resp.content.iter_any():
                wire += len(chunk)
                if wire > limits.max_wire_bytes:
                    if limits.truncate:
                        break
                    raise _too_large(url, limits.max_wire_bytes)
                parts.append(decoder.feed(chunk))
            parts.append(decoder.finish())
        except ResourceExhaustedError:
            if not limits.truncate:
                raise
        return b"".join(parts), wire

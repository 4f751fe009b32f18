"""Bounded decoding of Content-Encoding (gzip, deflate, br): gzip bombs stop early.

Layer: domain (zlib, brotli). The HTTP adapter feeds wire chunks as they arrive;
each decoder produces at most `max_output` bytes in all and raises
RESOURCE_EXHAUSTED the moment the output would pass it, without ever holding
more than the limit (plus one chunk) in memory.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli  # type: ignore[import-untyped]

from agentplane.errors import FailedPreconditionError, ResourceExhaustedError, UnavailableError

__all__ = ["SUPPORTED_ENCODINGS", "BodyDecoder", "make_decoder"]

SUPPORTED_ENCODINGS = ("gzip", "deflate", "br")


class BodyDecoder(Protocol):
    """Turns wire bytes into body bytes, within a size limit."""

    def feed(self, chunk: bytes) -> bytes:
        """Decode one chunk."""
        ...

    def finish(self) -> bytes:
        """Decode what is left at the end of the stream."""
        ...


def _too_large(limit: int) -> ResourceExhaustedError:
    return ResourceExhaustedError(
        f"the decompressed page is larger than {limit} bytes (max_decompressed_bytes); refused as a possible "
        "decompression bomb",
        reason="DECOMPRESSED_TOO_LARGE",
        metadata={"limit_bytes": str(limit)},
    )


def _corrupt(encoding: str, exc: Exception) -> UnavailableError:
    return UnavailableError(
        f"the upstream body is not valid {encoding} ({exc})", reason="BAD_CONTENT_ENCODING", metadata={}
    )


class _Identity:
    def __init__(self, max_output: int) -> None:
        self._left = max_output
        self._limit = max_output

    def feed(self, chunk: bytes) -> bytes:
        self._left -= len(chunk)
        if self._left < 0:
            raise _too_large(self._limit)
        return chunk

    def finish(self) -> bytes:
        return b""


class _Zlib:
    def __init__(self, encoding: str, max_output: int) -> None:
        self._encoding = encoding
        self._limit = max_output
        self._left = max_output
        self._gzip = encoding == "gzip"
        self._raw_fallback = encoding == "deflate"
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)
        self._started = False

    def _run(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            if self._d.eof:
                # A gzip stream may hold several members; anything after a deflate end is junk.
                if not self._gzip or not data.strip(b"\x00"):
                    return b"".join(out)
                self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            piece = self._d.decompress(data, self._left + 1)
            self._left -= len(piece)
            if self._left < 0:
                raise _too_large(self._limit)
            out.append(piece)
            data = self._d.unconsumed_tail or (self._d.unused_data if self._d.eof else b"")
        return b"".join(out)

    def feed(self, chunk: bytes) -> bytes:
        try:
            if not self._started and self._raw_fallback:
                self._started = True
                try:
                    return self._run(chunk)
                except zlib.error:
                    # Some servers send raw deflate without the zlib header.
                    self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._left = self._limit
                    return self._run(chunk)
            self._started = True
            return self._run(chunk)
        except zlib.error as exc:
            raise _corrupt(self._encoding, exc) from exc

    def finish(self) -> bytes:
        try:
            tail = self._d.flush()
        except zlib.error as exc:
            raise _corrupt(self._encoding, exc) from exc
        self._left -= len(tail)
        if self._left < 0:
            raise _too_large(self._limit)
        return tail


class _Brotli:
    def __init__(self, max_output: int) -> None:
        self._d = brotli.Decompressor()
        self._limit = max_output
        self._left = max_output

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        try:
            piece = self._d.process(chunk, output_buffer_limit=self._left + 1)
            while True:
                self._left -= len(piece)
                if self._left < 0:
                    raise _too_large(self._limit)
                out.append(piece)
                if self._d.can_accept_more_data():
                    break
                piece = self._d.process(b"", output_buffer_limit=self._left + 1)
        except brotli.error as exc:
            raise _corrupt("br", exc) from exc
        return b"".join(out)

    def finish(self) -> bytes:
        return b""


def make_decoder(content_encoding: str, max_output: int) -> BodyDecoder:
    """A decoder for a Content-Encoding header value.

    Raises:
        FailedPreconditionError: An encoding we did not offer (or a stack of several).
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return _Identity(max_output)
    if encoding in ("gzip", "x-gzip"):
        return _Zlib("gzip", max_output)
    if encoding == "deflate":
        return _Zlib("deflate", max_output)
    if encoding == "br":
        return _Brotli(max_output)
    raise FailedPreconditionError(
        f"the upstream used Content-Encoding {content_encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}",
        reason="UNSUPPORTED_CONTENT_ENCODING",
    )

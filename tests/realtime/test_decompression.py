"""Bounded decoders: bombs stop at the limit, corrupt streams fail clearly."""

from __future__ import annotations

import gzip
import zlib

import brotli  # type: ignore[import-untyped]
import pytest

from agentplane.errors import FailedPreconditionError, ResourceExhaustedError, UnavailableError
from realtime.decompression import make_decoder


def feed_all(encoding: str, data: bytes, limit: int, chunk: int = 1000) -> bytes:
    decoder = make_decoder(encoding, limit)
    out = [decoder.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return b"".join(out) + decoder.finish()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send
        ("br", brotli.compress),
        ("identity", lambda d: d),
    ],
)
def test_round_trip(encoding: str, compress) -> None:
    data = b"hello world " * 5000
    assert feed_all(encoding, compress(data), 1_000_000) == data


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("br", brotli.compress)])
def test_bomb_stops_at_the_limit(encoding: str, compress) -> None:
    bomb = compress(b"\0" * 8_000_000)
    with pytest.raises(ResourceExhaustedError) as caught:
        feed_all(encoding, bomb, 100_000)
    assert caught.value.reason == "DECOMPRESSED_TOO_LARGE"


def test_multi_member_gzip() -> None:
    assert feed_all("gzip", gzip.compress(b"ab") + gzip.compress(b"cd"), 100) == b"abcd"


def test_corrupt_and_unknown_encodings() -> None:
    with pytest.raises(UnavailableError):
        feed_all("gzip", b"not gzip at all", 100)
    with pytest.raises(FailedPreconditionError):
        make_decoder("zstd", 100)

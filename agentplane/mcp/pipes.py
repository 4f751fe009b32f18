"""The stdio transport's byte streams on asyncio pipes, without a thread per read and write.

Layer: shared core, MCP boundary. The SDK's default stdio streams read and write through
anyio's worker threads: every message in and every message out is one or two hand-offs
between threads, which at one call in flight costs more than the tool itself. When stdin
and stdout are pipes or sockets (as when an MCP client spawns the server), `pipe_stdio`
gives the SDK asyncio pipe streams instead. Like the SDK, it keeps the wire to itself:
while serving, fd 0 reads from the null device and fd 1 writes to stderr, so stray
output never corrupts the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator

__all__ = ["PipeLineReader", "PipeWriter", "pipe_stdio"]

_MAX_LINE_BYTES = 64 * 1024 * 1024


class PipeLineReader:
    """Lines of a pipe as text (the async-iterator half of anyio's AsyncFile that the SDK uses)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> PipeLineReader:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class PipeWriter:
    """Text written to a pipe (the write/flush half of anyio's AsyncFile that the SDK uses)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


def _is_pipe(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


@contextlib.asynccontextmanager
async def pipe_stdio() -> AsyncIterator[tuple[PipeLineReader, PipeWriter] | None]:
    """Asyncio streams on this process's stdin and stdout; None when they are not pipes.

    While the context is open, fd 0 and fd 1 point at the null device and at stderr.
    """
    if not (_is_pipe(0) and _is_pipe(1)):
        yield None
        return
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    transports: list[asyncio.BaseTransport] = []
    try:
        reader = asyncio.StreamReader(limit=_MAX_LINE_BYTES)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0)
        )
        transports.append(read_transport)
        write_transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(wire_out, "wb", buffering=0)
        )
        transports.append(write_transport)
        writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
        yield PipeLineReader(reader), PipeWriter(writer)
    finally:
        for transport in reversed(transports):
            transport.close()
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)

"""Outbound I/O of the realtime service: the aiohttp transport, the guarded resolver, the SQLite store."""

__all__ = ["AiohttpTransport", "GuardedResolver", "SqliteSourceStore"]

from realtime.adapters.http import AiohttpTransport
from realtime.adapters.resolver import GuardedResolver
from realtime.adapters.store import SqliteSourceStore

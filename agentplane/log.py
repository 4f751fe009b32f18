"""Structured JSON logging with the request and trace ids of the call being served.

Layer: shared core. `configure_logging` is called once by each service's entry point
(never at import). Every record is one JSON object per line on stderr, so that the
supervisor, log shippers and tests can parse it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from agentplane import request_context

__all__ = ["JsonFormatter", "configure_logging"]

# LogRecord attributes that are not user-supplied `extra` fields.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats records as single-line JSON with ids from the request context."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        ctx = request_context.current()
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if ctx.request_id:
            doc["request_id"] = ctx.request_id
        if ctx.trace_id:
            doc["trace_id"] = ctx.trace_id
        if ctx.tenant:
            doc["tenant"] = ctx.tenant
        if ctx.method:
            doc["method"] = ctx.method
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "info", *, json_format: bool = True) -> None:
    """Route the root logger to stderr as JSON (or plain text for humans)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(service) if json_format else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

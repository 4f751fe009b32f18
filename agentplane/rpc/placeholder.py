"""Servicers for contracts whose service has not landed yet: every method is UNIMPLEMENTED.

Layer: shared core, RPC boundary. Lets `agentplane up` run every process (and health
report SERVING) while a service's own issue is open; each method answers
UNIMPLEMENTED with a message that names the issue.
"""

from __future__ import annotations

from typing import Any, TypeVar

from agentplane.errors import UnimplementedError

__all__ = ["unimplemented_servicer"]

T = TypeVar("T")


def unimplemented_servicer(base: type[T], service: str, issue: str) -> T:
    """An instance of the generated servicer `base` whose methods all raise UnimplementedError."""

    def make(method: str) -> Any:
        async def handler(self: Any, request: Any, context: Any) -> Any:
            raise UnimplementedError(f"{service}.{method} is not implemented yet ({issue})")

        return handler

    methods = {name: make(name) for name in vars(base) if name[:1].isupper()}
    servicer: T = type(f"Unimplemented{base.__name__}", (base,), methods)()
    return servicer

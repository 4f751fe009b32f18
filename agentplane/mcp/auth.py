"""API-key authentication of the MCP streamable-HTTP endpoint.

Layer: shared core, MCP boundary (pure ASGI middleware). The key comes as
`Authorization: Bearer <key>` (what MCP clients send) or `x-api-key: <key>` (what gRPC
clients send) and is checked by the same `ApiKeyStore` as the gRPC side. A missing or
unknown key gets 401 with a `WWW-Authenticate: Bearer` challenge and a JSON body that
says what to send; a verified caller is attached to the request scope for the tools.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from agentplane.auth import ApiKeyStore
from agentplane.errors import AgentplaneError
from agentplane.mcp.context import Caller, attach_caller

__all__ = ["ApiKeyMiddleware", "presented_key"]


def presented_key(headers: Headers) -> str | None:
    """The key a request presents: the bearer token, else the x-api-key header."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


class ApiKeyMiddleware:
    """Refuses HTTP requests without a valid key; lets lifespan and other scopes through.

    Args:
        app: The MCP Starlette app.
        keys: The key store shared with the gRPC side.
    """

    def __init__(self, app: ASGIApp, keys: ApiKeyStore) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = presented_key(Headers(scope=scope))
        try:
            principal = self.keys.authenticate(key)
        except AgentplaneError as exc:
            await _refuse(send, exc)
            return
        attach_caller(scope, Caller(key or "", principal))
        await self.app(scope, receive, send)


async def _refuse(send: Send, exc: AgentplaneError) -> None:
    if exc.reason == "API_KEY_MISSING":
        description = "missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>')"
    else:
        description = exc.message
    body = json.dumps({"error": "invalid_token", "error_description": description, "reason": exc.reason}).encode()
    challenge = f'Bearer realm="agentplane", error="invalid_token", error_description="{description}"'
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

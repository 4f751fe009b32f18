"""API-key authentication of the MCP streamable-HTTP endpoint.

Layer: shared core, MCP boundary (pure ASGI middleware). The key comes as
`Authorization: Bearer <key>` (what MCP clients send) or `x-api-key: <key>` (what gRPC
clients send); callers are admitted by the same `Admission` as the gRPC side, without
tenant limits here (each tool calls a gRPC service, which applies them). A missing or
unknown key gets 401 with a `WWW-Authenticate: Bearer` challenge and a JSON body that
says what to send (a key that may not act for the tenant it names, 403); a verified
caller is attached to the request scope for the tools.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from agentplane.admission import Admission, KeyStore, presented_key
from agentplane.errors import AgentplaneError, Code
from agentplane.mcp.context import Caller, attach_caller

__all__ = ["ApiKeyMiddleware", "presented_key"]


class ApiKeyMiddleware:
    """Refuses HTTP requests without a valid key; lets lifespan and other scopes through.

    Args:
        app: The MCP Starlette app.
        keys: The key store shared with the gRPC side.
    """

    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self._admission = Admission(keys, limiter=None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            admitted = self._admission.admit(headers, method=f"MCP {scope.get('path', '')}", timeout_s=None)
        except AgentplaneError as exc:
            await _refuse(send, exc)
            return
        principal = admitted.context.principal
        assert principal is not None  # admission always names the caller
        attach_caller(scope, Caller(presented_key(headers) or "", principal))
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
            "status": 403 if exc.code is Code.PERMISSION_DENIED else 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

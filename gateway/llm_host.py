"""Hosts llama-cpp-python's OpenAI server with a bounded, deterministic stop (`python -m gateway.llm_host`).

Layer: process (exec'd by `gateway.embedded_llm` in a clean environment). The app is
llama-cpp-python's own (`create_app`, its own command-line options); what differs from
`python -m llama_cpp.server` is how requests end and how the process stops:

- A request whose client has gone is cancelled at once. llama.cpp serves one request at
  a time behind a lock, and uvicorn does not cancel a handler when its client
  disconnects: when the gateway gave up on 40 queued calls (the controller cancelling
  its tasks at shutdown), the server went on to generate all 40 answers for nobody,
  one after another, and could not stop within the supervisor's 15 s.
- SIGTERM stops accepting, gives in-flight requests `--stop_grace_s`, then cancels them
  (uvicorn's `timeout_graceful_shutdown`).
- A generation already running in a worker thread cannot be interrupted, and Python
  would wait for that thread before exiting. Once uvicorn has shut down it re-raises
  the signal, whose default action ends the process at once (exit status -15); had it
  stopped for another reason, `os._exit` does the same.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, cast

import anyio
import uvicorn
from llama_cpp.server.app import create_app
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

__all__ = ["CancelOnDisconnect", "main"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CancelOnDisconnect:
    """ASGI middleware: cancel an HTTP request's handler as soon as its client disconnects.

    The request body is read first and replayed to the app, so that watching the
    connection for `http.disconnect` never takes a body message from the app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[Message] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.append(message)
            if not message.get("more_body", False):
                break
        gone = anyio.Event()

        async def replay() -> Message:
            if body:
                return body.pop(0)
            await gone.wait()
            return {"type": "http.disconnect"}

        async with anyio.create_task_group() as group:

            async def watch() -> None:
                await receive()  # after the body, the only message left is http.disconnect
                gone.set()
                group.cancel_scope.cancel()

            group.start_soon(watch)
            await self.app(scope, replay, send)
            group.cancel_scope.cancel()


def parse_args(argv: Sequence[str] | None = None) -> tuple[ServerSettings, ModelSettings, int]:
    """llama-cpp-python's own server options, plus `--stop_grace_s`."""
    parser = argparse.ArgumentParser(description="llama-cpp-python's OpenAI server with a bounded stop")
    add_args_from_model(parser, Settings)
    parser.add_argument("--stop_grace_s", type=int, default=5, help="in-flight requests' grace on SIGTERM (s)")
    args = parser.parse_args(argv)
    # parse_model_from_args is annotated as returning the class; it returns an instance.
    server = cast(ServerSettings, parse_model_from_args(ServerSettings, args))
    model = cast(ModelSettings, parse_model_from_args(ModelSettings, args))
    return server, model, int(args.stop_grace_s)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then stop within the grace period and exit at once."""
    server_settings, model_settings, grace_s = parse_args(argv)
    app = create_app(server_settings=server_settings, model_settings=[model_settings])
    config = uvicorn.Config(
        CancelOnDisconnect(app),
        host=server_settings.host,
        port=server_settings.port,
        timeout_graceful_shutdown=grace_s,
        log_level="warning",
    )
    uvicorn.Server(config).run()
    print("llm_host: stopped", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(0)  # a generation thread still running would otherwise hold the exit until it finishes


if __name__ == "__main__":
    main()

"""A tiny gRPC service for testing the shared core through real servers.

Methods take and return JSON bytes (generic handlers, no proto needed):
- Echo: what the server saw (tenant, trace id, deadline left).
- Block: waits on an in-process event, or sleeps `ms` when run as a subprocess.
- Fail: raises the named error (or a plain bug).
- Forward: calls Echo on another probe server through ServiceChannel (propagation).

Run as `python -m tests.agentplane.probe_service` it serves on an ephemeral port,
prints `PORT <n>` and `BLOCK STARTED` lines on stdout, and drains on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import grpc

from agentplane import errors, request_context
from agentplane.rpc import ServiceBinding, ServiceChannel, ServiceHost, run_until_signal, unary
from agentplane.settings import ServiceSettings, load_settings

SERVICE = "agentplane.test.Probe"


class Probe:
    """Handlers of the probe service."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.blocked = 0
        self.echoes = 0

    async def echo(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self.echoes += 1
        ctx = request_context.current()
        return json.dumps(
            {
                "tenant": ctx.tenant,
                "principal": ctx.principal.name if ctx.principal else "",
                "trace_id": ctx.trace_id,
                "remaining_s": context.time_remaining(),
                "size": len(request),
            }
        ).encode()

    async def block(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        args = json.loads(request or b"{}")
        self.blocked += 1
        self.started.set()
        if "ms" in args:
            print("BLOCK STARTED", flush=True)
            await asyncio.sleep(args["ms"] / 1000)
        else:
            await self.release.wait()
        return b'{"done": true}'

    async def fail(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        kind = json.loads(request)["error"]
        if kind == "bug":
            raise ZeroDivisionError("a bug")
        cls = getattr(errors, kind)
        raise cls(
            "probe failure",
            reason="PROBE",
            retry_after_s=1.5,
            metadata={"subject": "probe"},
            violations=[errors.FieldViolation("texts[3]", "must not be empty")],
        )

    async def forward(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        target = json.loads(request)["target"]
        async with ServiceChannel([target], api_key=json.loads(request).get("key")) as ch:
            echo = ch.channel.unary_unary(f"/{SERVICE}/Echo")
            return await unary(echo, b"")

    def binding(self) -> ServiceBinding:
        handlers: dict[str, Any] = {
            name: grpc.unary_unary_rpc_method_handler(fn)
            for name, fn in (("Echo", self.echo), ("Block", self.block), ("Fail", self.fail), ("Forward", self.forward))
        }
        generic = grpc.method_handlers_generic_handler(SERVICE, handlers)
        return ServiceBinding(SERVICE, lambda server: server.add_generic_rpc_handlers((generic,)))


def build(settings: ServiceSettings) -> tuple[ServiceHost, Probe]:
    probe = Probe()
    host = ServiceHost(settings, "probe")
    host.serve([probe.binding()])
    return host, probe


async def _main() -> None:
    settings = load_settings(ServiceSettings, "probe")
    server, _ = build(settings)
    await run_until_signal(server, ready=lambda host: print(f"PORT {host.port}", flush=True))


if __name__ == "__main__":
    asyncio.run(_main())
    sys.exit(0)

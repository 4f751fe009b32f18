"""`agentplane chat` and `agentplane usage`: talk to the gateway over gRPC.

Layer: CLI. Connects like every agentplane command (`agentplane.cli.connect`): a key
from the embedded default's credentials by name (`--as`, default acme-user), or
`--api-key`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentplane.cli.connect import add_connection_args, open_channel
from agentplane.rpc import stream, unary
from agentplane.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc

__all__ = ["register", "run_chat", "run_usage"]

_SENSITIVITY = {
    "public": common_pb2.SENSITIVITY_PUBLIC,
    "internal": common_pb2.SENSITIVITY_INTERNAL,
    "confidential": common_pb2.SENSITIVITY_CONFIDENTIAL,
    "restricted": common_pb2.SENSITIVITY_RESTRICTED,
}


def register(sub: Any) -> None:
    """Add the `chat` and `usage` commands."""
    chat: argparse.ArgumentParser = sub.add_parser("chat", help="ask the LLM gateway one question")
    chat.add_argument("prompt", help="the question")
    chat.add_argument("--model", default="general", help="model alias (default: general)")
    chat.add_argument("--system", default="", help="system message (default: the alias's)")
    chat.add_argument("--max-tokens", type=int, default=0, help="cap on generated tokens")
    chat.add_argument("--temperature", type=float, default=None)
    chat.add_argument("--sensitivity", choices=sorted(_SENSITIVITY), default="internal")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    chat.add_argument("--verbose", action="store_true", help="print deployment, usage and attempts")
    add_connection_args(chat)
    chat.set_defaults(func=run_chat)
    usage: argparse.ArgumentParser = sub.add_parser("usage", help="tokens, cost and budgets of your tenant")
    usage.add_argument("--tenant", default="", help="another tenant (admin keys only)")
    add_connection_args(usage)
    usage.set_defaults(func=run_usage)


async def run_chat(args: argparse.Namespace) -> int:
    """Send one prompt and print the answer as it streams."""
    messages = [gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_USER, content=args.prompt)]
    if args.system:
        messages.insert(0, gateway_pb2.ChatMessage(role=gateway_pb2.ROLE_SYSTEM, content=args.system))
    req = gateway_pb2.CompleteRequest(
        model=args.model, messages=messages, max_tokens=args.max_tokens, sensitivity=_SENSITIVITY[args.sensitivity]
    )
    if args.temperature is not None:
        req.temperature = args.temperature
    async with open_channel(args, "gateway") as channel:
        stub = gateway_pb2_grpc.LLMGatewayStub(channel.channel)
        if args.no_stream:
            resp = await unary(stub.Complete, req, timeout_s=args.timeout)
            print(resp.message.content)
            if args.verbose:
                print(
                    f"[{resp.model} via {resp.deployment}; {resp.usage.input_tokens}+{resp.usage.output_tokens} "
                    f"tokens, ${resp.usage.cost_usd:.6f}; cache {'hit' if resp.cache_hit else 'miss'}]",
                    file=sys.stderr,
                )
            return 0
        async for chunk in stream(stub.StreamComplete, req, timeout_s=args.timeout):
            if chunk.deployment and args.verbose:
                print(f"[{chunk.model} via {chunk.deployment}]", file=sys.stderr)
            print(chunk.delta, end="", flush=True)
            if chunk.finish_reason and args.verbose:
                u = chunk.usage
                print(f"\n[{u.input_tokens}+{u.output_tokens} tokens, ${u.cost_usd:.6f}]", file=sys.stderr)
        print()
    return 0


async def run_usage(args: argparse.Namespace) -> int:
    """Print the tenant's usage and budgets."""
    async with open_channel(args, "gateway") as channel:
        stub = gateway_pb2_grpc.LLMGatewayStub(channel.channel)
        resp = await unary(stub.GetUsage, gateway_pb2.GetUsageRequest(tenant=args.tenant), timeout_s=args.timeout)
    print(f"tenant {resp.tenant} (max {resp.max_tokens_per_request} tokens per request)")
    for name, w in (("today", resp.daily), ("month", resp.monthly)):
        budget = f", budget ${w.budget_usd:g} (${w.remaining_usd:.4f} left)" if w.budget_usd else ""
        tokens = f", token budget {w.budget_tokens} ({w.remaining_tokens} left)" if w.budget_tokens else ""
        print(
            f"{name:<6} {w.period}: {w.requests} requests ({w.cache_hits} cache hits), "
            f"{w.input_tokens}+{w.output_tokens} tokens, ${w.cost_usd:.6f}{budget}{tokens}"
        )
    for m in resp.by_model:
        print(
            f"  {m.model}/{m.deployment}: {m.requests} requests, {m.input_tokens}+{m.output_tokens} tokens, "
            f"${m.cost_usd:.6f}"
        )
    return 0

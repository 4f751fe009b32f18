"""`agentplane fetch URL [--markdown|--text|--raw] [--max-length N]`.

Layer: CLI (registered through the `agentplane.cli` entry point). Calls the
running RealtimeData service over gRPC (`--as` a key of the embedded default, or `--api-key`)
and prints the page (or, with --json, the whole response).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from google.protobuf import json_format

from agentplane.cli.connect import add_connection_args, open_channel
from agentplane.rpc import unary
from agentplane.v1 import realtime_pb2, realtime_pb2_grpc

__all__ = ["register", "run_fetch"]


def register(sub: Any) -> None:
    """Add the `fetch` command."""
    parser: argparse.ArgumentParser = sub.add_parser("fetch", help="fetch a page through the realtime service")
    parser.add_argument("url", help="http(s) URL to fetch")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="print markdown (the default)")
    form.add_argument("--text", action="store_true", help="print plain text")
    form.add_argument("--raw", action="store_true", help="print the raw HTML")
    parser.add_argument("--max-length", type=int, default=0, help="characters to print (default: the service's)")
    parser.add_argument("--start-index", type=int, default=0, help="character offset to start from")
    parser.add_argument("--fresh", action="store_true", help="skip the response cache")
    parser.add_argument("--links", action="store_true", help="also list the page's links")
    parser.add_argument("--json", action="store_true", help="print the whole response as JSON")
    add_connection_args(parser)
    parser.set_defaults(func=run_fetch)


async def run_fetch(args: argparse.Namespace) -> int:
    """Fetch the URL and print it; exit 0 on success."""
    fmt = realtime_pb2.CONTENT_FORMAT_TEXT if args.text else realtime_pb2.CONTENT_FORMAT_MARKDOWN
    options = realtime_pb2.FetchOptions(
        max_length=args.max_length,
        start_index=args.start_index,
        raw=args.raw,
        bypass_cache=args.fresh,
        include_links=args.links,
        format=fmt,
        timeout_ms=int(args.timeout * 1000),
    )
    async with open_channel(args, "realtime") as channel:
        stub = realtime_pb2_grpc.RealtimeDataStub(channel.channel)
        response = await unary(
            stub.Fetch, realtime_pb2.FetchRequest(url=args.url, options=options), timeout_s=args.timeout + 5
        )
    if args.json:
        print(json.dumps(json_format.MessageToDict(response), indent=2, ensure_ascii=False))
        return 0
    print(response.text if args.text else response.markdown)
    if args.links:
        for link in response.links:
            print(f"- {link.text or link.url}: {link.url}")
    notes = [f"status {response.status_code}", response.final_url]
    if response.truncated:
        notes.append(f"truncated; continue with --start-index {response.next_index}")
    if response.injection.flagged:
        notes.append(f"possible prompt injection (score {response.injection.score:.2f})")
    print(f"\n[{'; '.join(notes)}]", file=sys.stderr)
    return 0

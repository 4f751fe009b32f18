"""CLI commands of the controller: `submit`, `task`, `reviews`, `audit`.

Layer: controller CLI (a gRPC client of the controller, like any other).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from agentplane.cli.connect import add_connection_args, open_channel
from agentplane.rpc import unary
from agentplane.v1 import common_pb2, controller_pb2, controller_pb2_grpc
from controller.cli_audit import register_audit
from controller.cli_input import follow, read_task_text

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the controller's commands."""
    submit = sub.add_parser("submit", help="submit a task and print the answer, route and confidence")
    submit.add_argument("text", nargs="?", default=None, help="the task text; - reads it from stdin")
    submit.add_argument("--file", type=Path, default=None, help="read the task text from this file (UTF-8)")
    submit.add_argument("--follow", action="store_true", help="print the task's events as they happen (stderr)")
    submit.add_argument("--type", dest="task_type", default="", help="task type hint: classify, general, realtime, ...")
    submit.add_argument("--session", default="", help="session id (earlier turns are context)")
    submit.add_argument("--key", dest="idempotency_key", default="", help="idempotency key")
    submit.add_argument("--url", action="append", default=[], help="URL to consult (repeatable)")
    submit.add_argument(
        "--sensitivity", default="INTERNAL", choices=["PUBLIC", "INTERNAL", "CONFIDENTIAL", "RESTRICTED"]
    )
    submit.add_argument("--json", action="store_true", help="print the whole task as JSON")
    add_connection_args(submit)
    submit.set_defaults(func=_submit)

    task = sub.add_parser("task", help="show or cancel a task")
    task_sub = task.add_subparsers(dest="task_command", required=True)
    for name, func in (("get", _get), ("cancel", _cancel)):
        p = task_sub.add_parser(name)
        p.add_argument("task_id")
        add_connection_args(p)
        p.set_defaults(func=func)

    reviews = sub.add_parser("reviews", help="list and resolve escalated tasks")
    rsub = reviews.add_subparsers(dest="reviews_command", required=True)
    listing = rsub.add_parser("list", help="pending reviews of your tenant")
    listing.add_argument("--state", default="PENDING", choices=["PENDING", "APPROVED", "REJECTED", "EDITED", "EXPIRED"])
    add_connection_args(listing, default_key="acme-reviewer")
    listing.set_defaults(func=_list_reviews)
    for name in ("approve", "reject", "edit"):
        p = rsub.add_parser(name, help=f"{name} a review")
        p.add_argument("review_id")
        if name == "edit":
            p.add_argument("answer", help="the corrected answer")
        p.add_argument("--comment", default="")
        add_connection_args(p, default_key="acme-reviewer")
        p.set_defaults(func=_resolve, decision=name.upper())

    register_audit(sub)


def _stub(args: argparse.Namespace) -> tuple[Any, controller_pb2_grpc.TaskControllerStub]:
    channel = open_channel(args, "controller")
    return channel, controller_pb2_grpc.TaskControllerStub(channel.channel)


def _print_task(task: controller_pb2.Task, as_json: bool) -> None:
    if as_json:
        print(json_format.MessageToJson(task, preserving_proto_field_name=True))
        return
    state = controller_pb2.TaskState.Name(task.state).removeprefix("TASK_STATE_")
    route = controller_pb2.Route.Name(task.result.route).removeprefix("ROUTE_") if task.HasField("result") else "-"
    print(f"task {task.task_id}: {state}  route {route}  confidence {task.result.confidence.score:.3f}")
    if task.result.answer:
        print(f"answer: {task.result.answer}")
    if task.result.confidence.rationale:
        print(f"why: {task.result.confidence.rationale}")
    if task.clarification.question:
        print(f"question: {task.clarification.question}")
    if task.review_id:
        print(f"review: {task.review_id} ({task.escalation_reason})")
    if task.error:
        print(f"error: {task.error}")


async def _submit(args: argparse.Namespace) -> int:
    text = read_task_text(args.text, args.file, sys.stdin.buffer)
    channel, stub = _stub(args)
    async with channel:
        request = controller_pb2.SubmitTaskRequest(
            text=text,
            task_type=args.task_type,
            session_id=args.session,
            idempotency_key=args.idempotency_key,
            urls=args.url,
            sensitivity=common_pb2.Sensitivity.Value(f"SENSITIVITY_{args.sensitivity}"),
        )
        if args.follow:
            task = await follow(stub, request, args.timeout)
        else:
            task = await unary(stub.SubmitTask, request, timeout_s=args.timeout)
    _print_task(task, args.json)
    return 0 if task.state == controller_pb2.TASK_STATE_COMPLETED else 3


async def _get(args: argparse.Namespace) -> int:
    channel, stub = _stub(args)
    async with channel:
        task = await unary(stub.GetTask, controller_pb2.GetTaskRequest(task_id=args.task_id), timeout_s=args.timeout)
    _print_task(task, as_json=True)
    return 0


async def _cancel(args: argparse.Namespace) -> int:
    channel, stub = _stub(args)
    async with channel:
        task = await unary(
            stub.CancelTask, controller_pb2.CancelTaskRequest(task_id=args.task_id), timeout_s=args.timeout
        )
    _print_task(task, as_json=False)
    return 0


async def _list_reviews(args: argparse.Namespace) -> int:
    channel, stub = _stub(args)
    token, shown = "", 0
    async with channel:
        while True:
            request = controller_pb2.ListReviewsRequest(
                state=controller_pb2.ReviewState.Value(f"REVIEW_STATE_{args.state}"), page_size=100, page_token=token
            )
            page = await unary(stub.ListReviews, request, timeout_s=args.timeout)
            for r in page.reviews:
                shown += 1
                print(f"{r.review_id}  task {r.task_id}  {r.reason}  confidence {r.confidence.score:.3f}")
                print(f"    text: {r.task_text[:100]!r}")
                print(f"    proposed: {r.proposed_answer[:200]!r}")
            token = page.next_page_token
            if not token:
                break
    if not shown:
        print(f"no {args.state.lower()} reviews")
    return 0


async def _resolve(args: argparse.Namespace) -> int:
    channel, stub = _stub(args)
    request = controller_pb2.ResolveReviewRequest(
        review_id=args.review_id,
        decision=controller_pb2.ReviewDecision.Value(f"REVIEW_DECISION_{args.decision}"),
        edited_answer=getattr(args, "answer", ""),
        comment=args.comment,
    )
    async with channel:
        response = await unary(stub.ResolveReview, request, timeout_s=args.timeout)
    state = controller_pb2.ReviewState.Name(response.review.state).removeprefix("REVIEW_STATE_")
    print(f"review {response.review.review_id}: {state}")
    _print_task(response.task, as_json=False)
    return 0

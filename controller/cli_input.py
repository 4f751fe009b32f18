"""Task text for `agentplane submit` (argument, file or stdin) and `--follow` progress.

Layer: controller CLI. Text is UTF-8: bytes that are not are refused with the
offset and value of the first bad byte, never a traceback. An argument is limited
by the OS (about 128 KiB), so long texts come from a file (`--file PATH`) or stdin
(`-`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import BinaryIO

from agentplane.errors import InvalidArgumentError
from agentplane.rpc import stream, unary
from agentplane.v1 import controller_pb2, controller_pb2_grpc

__all__ = ["follow", "read_task_text"]

_CONVERT_HINT = "convert it to UTF-8 first (e.g. iconv -f latin1 -t utf-8)"


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(
            f"the task text ({source}) is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; "
            + _CONVERT_HINT
        ) from None


def read_task_text(argument: str | None, file: Path | None, stdin: BinaryIO) -> str:
    """The task text from the argument, `--file`, or stdin (`-`), decoded as UTF-8.

    Raises:
        InvalidArgumentError: No text or two texts were given, the file cannot be read,
            or the text is not UTF-8 (the message names the first bad byte).
    """
    if file is not None and argument is not None:
        raise InvalidArgumentError("give the task text as an argument or with --file, not both")
    if file is not None:
        try:
            return _decode(file.read_bytes(), str(file))
        except OSError as exc:
            raise InvalidArgumentError(f"cannot read {file}: {exc.strerror}") from None
    if argument is None:
        raise InvalidArgumentError("no task text: give it as an argument, with --file PATH, or - to read stdin")
    if argument == "-":
        return _decode(stdin.read(), "stdin")
    # argv was decoded with surrogateescape: undecodable bytes became lone surrogates.
    return _decode(os.fsencode(argument), "argument")


def _describe(event: controller_pb2.TaskEvent) -> str:
    kind = controller_pb2.TaskEventType.Name(event.type).removeprefix("TASK_EVENT_TYPE_")
    detail = event.message
    if event.HasField("plan") and not detail:
        detail = "route " + controller_pb2.Route.Name(event.plan.route).removeprefix("ROUTE_")
    if event.HasField("step") and not detail:
        detail = " ".join(x for x in (event.step.step_id, event.step.target, event.step.summary) if x)
    if event.HasField("confidence") and not detail:
        detail = f"{event.confidence.score:.3f}"
    return f"{kind} {detail}".rstrip()


async def follow(
    stub: controller_pb2_grpc.TaskControllerStub, request: controller_pb2.SubmitTaskRequest, timeout_s: float
) -> controller_pb2.Task:
    """Submit through StreamTask, print each event to stderr as it comes; return the task as last seen.

    Raises:
        AgentplaneError: The call failed (status mapped to its typed error).
    """
    started = time.monotonic()
    task = controller_pb2.Task()
    async for event in stream(stub.StreamTask, controller_pb2.StreamTaskRequest(submit=request), timeout_s=timeout_s):
        print(f"[{time.monotonic() - started:6.2f}s] {_describe(event)}", file=sys.stderr, flush=True)
        if event.HasField("task"):
            task = event.task
        elif not task.task_id:
            task.task_id = event.task_id
    if task.state == controller_pb2.TASK_STATE_UNSPECIFIED and task.task_id:  # the stream ended before it settled
        task = await unary(stub.GetTask, controller_pb2.GetTaskRequest(task_id=task.task_id), timeout_s=timeout_s)
    return task

"""Task intake: validate, apply retention policy, resolve clarification answers, persist, queue.

Layer: controller domain. A task is persisted (with its RECEIVED event and audit
record) before SubmitTask acknowledges it, and queued right after; if the queue is
full the request is refused before anything is written. Resubmitting with the same
idempotency key returns the stored task (a different request under the same key
is refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from agentplane import request_context
from agentplane.errors import FailedPreconditionError, FieldViolation, InvalidArgumentError
from agentplane.pii import redact
from agentplane.request_context import Principal
from controller.config import ControllerSettings
from controller.events import EventBus
from controller.models import EventType, Task, TaskRequest, TaskState, utcnow
from controller.recorder import TaskRecorder
from controller.routing import find_urls
from controller.runner import TaskRunner

__all__ = ["Intake", "Submission"]

SENSITIVE = frozenset({"CONFIDENTIAL", "RESTRICTED"})
_SETTLING = frozenset(
    {
        EventType.COMPLETED,
        EventType.FAILED,
        EventType.CANCELLED,
        EventType.ESCALATED,
        EventType.CLARIFICATION_NEEDED,
        EventType.REVIEW_RESOLVED,
    }
)


@dataclass(frozen=True)
class Submission:
    """A SubmitTask request, translated from protobuf."""

    text: str
    task_type: str = ""
    session_id: str = ""
    idempotency_key: str = ""
    sensitivity: str = "INTERNAL"
    urls: tuple[str, ...] = ()
    schema: dict[str, Any] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    no_wait: bool = False


def _fingerprint(sub: Submission) -> str:
    basis = "\x1f".join([sub.text, sub.task_type, sub.session_id, sub.sensitivity, *sub.urls, repr(sub.schema)])
    return hashlib.sha256(basis.encode()).hexdigest()


class Intake:
    """Accepts tasks.

    Args:
        settings: Controller settings.
        recorder: Persists the new task.
        runner: Queues it.
        bus: For waiting until a task settles.
    """

    def __init__(self, settings: ControllerSettings, recorder: TaskRecorder, runner: TaskRunner, bus: EventBus) -> None:
        self._settings = settings
        self._recorder = recorder
        self._runner = runner
        self._bus = bus

    def _validate(self, sub: Submission) -> None:
        problems = []
        if not sub.text.strip():
            problems.append(FieldViolation("text", "must not be empty"))
        if "\x00" in sub.text:
            problems.append(FieldViolation("text", "must not contain NUL characters"))
        if len(sub.text) > self._settings.max_text_chars:
            problems.append(
                FieldViolation("text", f"{len(sub.text)} characters; the limit is {self._settings.max_text_chars}")
            )
        if len(sub.urls) > self._settings.max_urls:
            problems.append(FieldViolation("urls", f"{len(sub.urls)} URLs; the limit is {self._settings.max_urls}"))
        for i, url in enumerate(sub.urls):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(FieldViolation(f"urls[{i}]", "must be an absolute http(s) URL"))
        if len(sub.idempotency_key) > 200:
            problems.append(FieldViolation("idempotency_key", "at most 200 characters"))
        if problems:
            raise InvalidArgumentError(
                "invalid task: " + "; ".join(f"{p.field} {p.description}" for p in problems), violations=problems
            )

    async def _follow_up(self, sub: Submission, tenant: str) -> tuple[Submission, str]:
        """When this answers the session's pending clarification, merge it with the original task."""
        if not sub.session_id or sub.task_type:
            return sub, ""
        history = await self._recorder.store.session_tasks(tenant, sub.session_id, 1)
        last = history[-1] if history else None
        if last is None or last.state is not TaskState.NEEDS_CLARIFICATION or not last.text_retained:
            return sub, ""
        assert last.clarification is not None
        reply = sub.text.strip().strip(".!'\"").lower()
        if reply in last.clarification.options:
            return replace(sub, text=last.text, task_type=reply, sensitivity=last.sensitivity,
                           urls=last.request.urls, schema=last.request.schema), last.task_id  # fmt: skip
        urls = tuple(find_urls(sub.text)) or sub.urls
        if urls and not last.clarification.options:
            return replace(sub, text=last.text, task_type=last.task_type, sensitivity=last.sensitivity,
                           urls=urls, schema=last.request.schema), last.task_id  # fmt: skip
        return sub, ""

    def _stored_text(self, sub: Submission, tenant: str) -> tuple[str, bool, str]:
        """(text to store, whether it equals the original, how it was kept)."""
        if sub.sensitivity not in SENSITIVE:
            return sub.text, True, "full"
        mode = self._settings.policy.for_tenant(tenant).store_sensitive_text
        if mode == "hash":
            return "sha256:" + hashlib.sha256(sub.text.encode()).hexdigest(), False, "hash"
        if mode == "redacted":
            red = redact(sub.text)
            return red.text, not red.found, "redacted"
        return sub.text, True, "full"

    async def submit(self, sub: Submission, principal: Principal) -> tuple[Task, bool]:
        """Persist and queue a task (or return the one with the same idempotency key).

        Raises:
            InvalidArgumentError: The request is malformed.
            FailedPreconditionError: The idempotency key was used for a different request.
            ResourceExhaustedError: The controller's queue is full.
        """
        self._validate(sub)
        sub, clarifies = await self._follow_up(sub, principal.tenant)
        urls = tuple(dict.fromkeys([*sub.urls, *find_urls(sub.text)]))[: self._settings.max_urls]
        stored_text, retained, kept = self._stored_text(sub, principal.tenant)
        now = utcnow()
        metadata = {**sub.metadata, "_fingerprint": _fingerprint(sub)}
        if clarifies:
            metadata["clarifies"] = clarifies
        ctx = request_context.current()
        task = Task(
            task_id=f"task_{request_context.new_id()[:24]}",
            tenant=principal.tenant,
            text=sub.text,
            state=TaskState.RECEIVED,
            created_at=now,
            updated_at=now,
            task_type=sub.task_type,
            session_id=sub.session_id,
            idempotency_key=sub.idempotency_key,
            sensitivity=sub.sensitivity,
            request=TaskRequest(urls, sub.schema, metadata),
            text_retained=retained,
            submitted_by=principal.name,
            trace_id=ctx.trace_id or request_context.new_id(),
        )
        audit = self._recorder.draft(
            task,
            "task.received",
            principal.name,
            {
                "task_type": sub.task_type,
                "session_id": sub.session_id,
                "sensitivity": sub.sensitivity,
                "idempotency_key": sub.idempotency_key,
                "text_sha256": hashlib.sha256(sub.text.encode()).hexdigest(),
                "text_chars": len(sub.text),
                "text_kept": kept,
                "urls": list(urls),
                "clarifies": clarifies,
            },
        )
        self._runner.reserve(None if sub.no_wait else request_context.remaining_s())
        try:
            stored, created = await self._recorder.create(
                task, stored_text=stored_text, message="task received", audit=[audit]
            )
        except BaseException:
            self._runner.release()
            raise
        if not created:
            self._runner.release()
            if stored.request.metadata.get("_fingerprint") != metadata["_fingerprint"]:
                raise FailedPreconditionError(
                    f"idempotency key {sub.idempotency_key!r} was already used for a different request "
                    f"(task {stored.task_id})",
                    reason="IDEMPOTENCY_KEY_REUSED",
                    metadata={"task_id": stored.task_id},
                )
            return stored, False
        self._runner.enqueue(task)
        return stored, True

    async def wait_settled(self, tenant: str, task_id: str, timeout_s: float | None) -> Task | None:
        """The task once it settled (answered, escalated, failed...), or as it is when `timeout_s` runs out."""
        store = self._recorder.store
        with self._bus.subscribe(task_id) as events:
            task = await store.get_task(tenant, task_id)
            if task is None or task.state.settled:
                return task
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    while True:
                        event = await events.get()
                        if event.type in _SETTLING:
                            break
        return await store.get_task(tenant, task_id)

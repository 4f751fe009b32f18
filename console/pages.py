"""The reviewer's pages: queue, live updates, one review with its decision, audit chain.

Layer: console HTTP boundary. Every controller call is made with the signed-in
reviewer's key (see `controller.py`), so what a page shows is exactly what the
controller lets that reviewer see. Decisions follow post/redirect/get; a decision
that lost the controller's compare-and-set to another reviewer's is shown as a
conflict with the winning decision, never as a success.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from agentplane.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError
from agentplane.v1 import controller_pb2
from console.app import STATE, check_csrf, csrf_refused, error_page, render, session_cookie_name, valid_id, with_session
from console.live import QueueSnapshot
from console.sessions import Session
from console.views import audit_entries, queue_rows, review_view

__all__ = ["add_routes"]

C = controller_pb2
_DECISIONS = {"APPROVE": C.REVIEW_DECISION_APPROVE, "EDIT": C.REVIEW_DECISION_EDIT, "REJECT": C.REVIEW_DECISION_REJECT}
_CONFLICTS = frozenset({"REVIEW_NOT_PENDING", "REVIEW_EXPIRED", "TASK_NOT_IN_REVIEW"})


async def _index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/queue")


async def _queue_context(request: web.Request, session: Session) -> dict[str, Any]:
    state = request.app[STATE]
    reviews = await state.client.pending_reviews(session.api_key, state.settings.max_queue_reviews)
    rows = queue_rows(reviews, datetime.now(UTC))
    task_type, reason = request.query.get("task_type", ""), request.query.get("reason", "")
    shown = [r for r in rows if (not task_type or r.task_type == task_type) and (not reason or r.reason_kind == reason)]
    return {
        "rows": shown,
        "shown": len(shown),
        "total": len(rows),
        "filtered": bool(task_type or reason),
        "task_type": task_type,
        "reason": reason,
        "type_counts": sorted(Counter(r.task_type for r in rows).items()),
        "reason_counts": sorted(Counter(r.reason_kind for r in rows).items()),
        "version": QueueSnapshot(tuple(r.review_id for r in rows)).version,
    }


async def _queue(request: web.Request, session: Session) -> web.StreamResponse:
    context = await _queue_context(request, session)
    return render(request, "queue.html", session=session, page_kind="queue", **context)


async def _queue_rows(request: web.Request, session: Session) -> web.StreamResponse:
    context = await _queue_context(request, session)
    return render(request, "_rows.html", session=session, **context)


async def _events(request: web.Request, session: Session) -> web.StreamResponse:
    """Server-sent events: `queue` whenever the tenant's pending reviews change, `session` when it ends."""
    state = request.app[STATE]
    token = request.cookies.get(session_cookie_name(state))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    async with state.watch.listen(session.tenant, session.api_key) as listener:
        with contextlib.suppress(ConnectionResetError):  # the page went away: its stream just ends
            while not state.watch.closed:
                snapshot = await listener.next(state.settings.sse_heartbeat_s)
                if state.sessions.lookup(token, touch=False).session is None:
                    await response.write(b"event: session\ndata: ended\n\n")
                    break
                if snapshot is None:
                    await response.write(b": keep-alive\n\n")
                    continue
                data = json.dumps({"version": snapshot.version, "review_ids": list(snapshot.review_ids)})
                await response.write(f"event: queue\ndata: {data}\n\n".encode())
    return response


async def _review_page(
    request: web.Request, session: Session, review_id: str, *, status: int = 200, **extra: object
) -> web.StreamResponse:
    state = request.app[STATE]
    key = session.api_key
    review = await state.client.review(key, review_id)
    try:
        task: controller_pb2.Task | None = await state.client.task(key, review.task_id)
    except NotFoundError:
        task = None
    audit = await state.client.audit_trail(key, review.task_id)
    view = review_view(review, task, datetime.now(UTC))
    extra.setdefault("conflict", False)
    extra.setdefault("error", "")
    extra.setdefault("done", "")
    extra.setdefault("attempted", "")
    return render(
        request, "review.html", status=status, session=session, page_kind="review",
        live_review_id=review_id if view.state == "PENDING" else "", v=view, audit=audit_entries(audit), **extra,
    )  # fmt: skip


def _done_message(decision: str, review: controller_pb2.Review) -> str:
    if review.state == C.REVIEW_STATE_PENDING and decision == "APPROVE":
        left = max(review.approvals_required - len(review.approvals), 0)
        return f"Your approval is recorded; {left} more approval(s) by another reviewer are needed."
    return {"APPROVE": "Approved.", "EDIT": "Edited answer saved.", "REJECT": "Rejected."}.get(decision, "")


async def _review(request: web.Request, session: Session) -> web.StreamResponse:
    review_id = request.match_info["review_id"]
    if not valid_id(review_id):
        return error_page(request, 404, "Not found", f"review not found (in tenant {session.tenant}).", session)
    done = request.query.get("done", "")
    if done in _DECISIONS:
        review = await request.app[STATE].client.review(session.api_key, review_id)
        return await _review_page(request, session, review_id, done=_done_message(done, review))
    return await _review_page(request, session, review_id)


async def _decide(request: web.Request, session: Session) -> web.StreamResponse:
    state = request.app[STATE]
    review_id = request.match_info["review_id"]
    form = await request.post()
    if not check_csrf(request, session.csrf_token, str(form.get("csrf_token", ""))):
        return csrf_refused(request, session)
    if not valid_id(review_id):
        return error_page(request, 404, "Not found", f"review not found (in tenant {session.tenant}).", session)
    decision = str(form.get("decision", ""))
    if decision not in _DECISIONS:
        return await _review_page(request, session, review_id, status=400, error="Choose approve, edit or reject.")
    comment = str(form.get("comment", "")).strip()
    edited = str(form.get("edited_answer", ""))
    try:
        await state.client.resolve(session.api_key, review_id, _DECISIONS[decision], edited, comment)
    except FailedPreconditionError as exc:
        if exc.reason not in _CONFLICTS:
            return await _review_page(request, session, review_id, status=409, error=exc.message)
        return await _review_page(request, session, review_id, status=409, conflict=True, attempted=decision)
    except PermissionDeniedError as exc:
        return await _review_page(request, session, review_id, status=403, error=f"Not allowed: {exc.message}")
    except InvalidArgumentError as exc:
        return await _review_page(request, session, review_id, status=400, error=exc.message)
    raise web.HTTPSeeOther(f"/reviews/{review_id}?done={decision}")


async def _audit(request: web.Request, session: Session) -> web.StreamResponse:
    return render(request, "audit.html", session=session, page_kind="audit", verdict=None)


async def _verify(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    if not check_csrf(request, session.csrf_token, str(form.get("csrf_token", ""))):
        return csrf_refused(request, session)
    verdict = await request.app[STATE].client.verify_chain(session.api_key)
    return render(
        request, "audit.html", session=session, page_kind="audit", verdict=verdict, checked_at=datetime.now(UTC)
    )


def add_routes(app: web.Application) -> None:
    """Register the reviewer's pages."""
    app.router.add_get("/", _index)
    app.router.add_get("/queue", with_session(_queue))
    app.router.add_get("/queue/rows", with_session(_queue_rows))
    app.router.add_get("/events", with_session(_events))
    app.router.add_get("/reviews/{review_id}", with_session(_review))
    app.router.add_post("/reviews/{review_id}", with_session(_decide))
    app.router.add_get("/audit", with_session(_audit))
    app.router.add_post("/audit/verify", with_session(_verify))

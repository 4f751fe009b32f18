"""The console's aiohttp application: shared state, rendering, session and error handling.

Layer: console HTTP boundary. Handlers live in `signin.py` and `pages.py`; this
module wires them with the pieces every request needs: the templates (Jinja2 with
autoescaping on for every template, so all text is escaped on output), the
security headers of `guard.py` on every response, the session lookup, and one
translation of controller errors into pages.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from agentplane.errors import (
    AgentplaneError,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)
from console.config import ConsoleSettings
from console.controller import ControllerClient
from console.guard import SignInLimiter, from_same_site, security_headers, token_matches
from console.live import QueueWatch
from console.sessions import Lookup, Session, SessionStore

__all__ = [
    "STATE",
    "ConsoleState",
    "Handler",
    "build_app",
    "check_csrf",
    "csrf_refused",
    "ended_notice",
    "error_page",
    "render",
    "session_cookie_name",
    "templates",
    "valid_id",
    "with_session",
]

STATIC_DIR = Path(__file__).with_name("static")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_ENDED_NOTICE = {
    "expired": "Your session expired. Sign in again to continue.",
    "unknown": "Your session is no longer valid (signed out, or the console restarted). Sign in again.",
    "signout": "You are signed out.",
    "revoked": "Your API key is no longer accepted by the controller. Sign in with a valid reviewer key.",
    "lost": "Your session ended before your last action was sent, so nothing was changed. Sign in again.",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SessionHandler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]


@dataclass
class ConsoleState:
    """What every handler shares (one per application)."""

    settings: ConsoleSettings
    client: ControllerClient
    sessions: SessionStore
    limiter: SignInLimiter
    watch: QueueWatch
    templates: jinja2.Environment


STATE: web.AppKey[ConsoleState] = web.AppKey("console_state", ConsoleState)


def templates() -> jinja2.Environment:
    """The console's templates; autoescape is on for all of them, whatever their name."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def session_cookie_name(state: ConsoleState) -> str:
    """`__Host-` prefixed when cookies are Secure (bound to this host and path /)."""
    return "__Host-ap_session" if state.settings.cookies_secure else "ap_session"


def valid_id(value: str) -> bool:
    """Whether a review or task id from a URL has the shape the controller issues."""
    return bool(_ID.match(value))


def render(
    request: web.Request, template: str, *, status: int = 200, session: Session | None = None, **context: Any
) -> web.Response:
    """Render a template to an HTML response."""
    state = request.app[STATE]
    context.setdefault("page_kind", "")
    context.setdefault("live_review_id", "")
    html = state.templates.get_template(template).render(session=session, now=datetime.now(UTC), **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def error_page(request: web.Request, status: int, heading: str, message: str, session: Session | None) -> web.Response:
    """An error page (the message is escaped like any other text)."""
    return render(request, "error.html", status=status, session=session, heading=heading, message=message)


def _wants_html(request: web.Request) -> bool:
    return request.path not in ("/events", "/queue/rows")


def _signin_redirect(request: web.Request, ended: str) -> web.StreamResponse:
    if not _wants_html(request):
        return web.Response(status=401, text="session ended: sign in again", content_type="text/plain")
    if request.method == "POST":
        ended = "lost"  # the action was not applied: say so on the sign-in page
    raise web.HTTPSeeOther(f"/signin?ended={ended}" if ended else "/signin")


def with_session(handler: SessionHandler) -> Handler:
    """Run `handler` with the caller's live session, or send the caller to sign in (401 for scripts)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        token = request.cookies.get(session_cookie_name(state))
        found: Lookup = state.sessions.lookup(token)
        if found.session is None:
            return _signin_redirect(request, found.ended if token else "")
        try:
            return await handler(request, found.session)
        except UnauthenticatedError:
            state.sessions.end(token)
            return _signin_redirect(request, "revoked")
        except AgentplaneError as exc:
            return _controller_error(request, exc, found.session)

    return wrapped


def _controller_error(request: web.Request, exc: AgentplaneError, session: Session) -> web.StreamResponse:
    if not _wants_html(request):
        return web.Response(status=502, text=exc.message, content_type="text/plain")
    if isinstance(exc, NotFoundError):
        return error_page(request, 404, "Not found", f"{exc.message} (in tenant {session.tenant}).", session)
    if isinstance(exc, PermissionDeniedError):
        return error_page(request, 403, "Not allowed", exc.message, session)
    if isinstance(exc, InvalidArgumentError):
        return error_page(request, 400, "Bad request", exc.message, session)
    if isinstance(exc, UnavailableError | DeadlineExceededError):
        return error_page(request, 503, "Controller unavailable", f"Try again shortly: {exc.message}", session)
    return error_page(request, 502, "Controller error", exc.message, session)


def csrf_refused(request: web.Request, session: Session | None) -> web.Response:
    """403 for a state-changing request without the page's CSRF token (nothing was changed)."""
    return error_page(
        request, 403, "Request refused",
        "This request did not carry this page's security token (CSRF protection), so nothing was changed. "
        "Reload the page and try again.", session,
    )  # fmt: skip


def check_csrf(request: web.Request, expected: str | None, given: str | None) -> bool:
    """A state-changing request carries the expected token and comes from the console's own pages."""
    origin = f"{request.scheme}://{request.host}"
    return from_same_site(request.headers, origin) and token_matches(expected, given)


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    state = request.app[STATE]
    static = request.path.startswith("/static/")
    for name, value in security_headers(tls=state.settings.tls, cacheable=static).items():
        response.headers.setdefault(name, value)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


def ended_notice(reason: str) -> str:
    """The sign-in page's explanation of why the reviewer is there ("" for none)."""
    return _ENDED_NOTICE.get(reason, "")


def build_app(state: ConsoleState) -> web.Application:
    """The application with its shared state, headers, health check and static files (no pages yet)."""
    app = web.Application(client_max_size=state.settings.max_form_bytes)
    app[STATE] = state
    app.on_response_prepare.append(_add_headers)
    app.router.add_get("/healthz", _healthz)
    app.router.add_static("/static", STATIC_DIR, append_version=False)
    return app

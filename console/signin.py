"""Sign-in and sign-out: a reviewer API key exchanged once for a session cookie.

Layer: console HTTP boundary. The key is checked with the controller's WhoAmI and
must hold the reviewer role; it is then kept only in the console's memory. The
session cookie is HttpOnly, SameSite=Strict, Secure when the console is on TLS,
and expires with the session. The sign-in form has no session to bind a CSRF token
to, so it double-submits a random token set in its own short-lived cookie; attempts
are rate limited per client address and in total.
"""

from __future__ import annotations

import math
import secrets

from aiohttp import web

from agentplane.errors import AgentplaneError, UnauthenticatedError
from console.app import (
    STATE,
    check_csrf,
    csrf_refused,
    ended_notice,
    render,
    session_cookie_name,
    with_session,
)
from console.sessions import Session

__all__ = ["add_routes"]

SIGNIN_COOKIE = "ap_signin"
REVIEWER_ROLES = frozenset({"reviewer", "admin"})


def _signin_page(request: web.Request, *, status: int = 200, notice: str = "", kind: str = "notice") -> web.Response:
    state = request.app[STATE]
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "signin.html", status=status, signin_token=token, notice=notice, notice_kind=kind)
    response.set_cookie(
        SIGNIN_COOKIE, token, max_age=3600, path="/signin", httponly=True, samesite="Strict",
        secure=state.settings.cookies_secure,
    )  # fmt: skip
    return response


async def signin_form(request: web.Request) -> web.StreamResponse:
    """GET /signin (straight to the queue when already signed in)."""
    state = request.app[STATE]
    if state.sessions.lookup(request.cookies.get(session_cookie_name(state))).session is not None:
        raise web.HTTPSeeOther("/queue")
    ended = request.query.get("ended", "")
    return _signin_page(request, notice=ended_notice(ended), kind="ok" if ended == "signout" else "notice")


async def signin(request: web.Request) -> web.StreamResponse:
    """POST /signin: check the key with the controller, start a session."""
    state = request.app[STATE]
    wait_s = state.limiter.try_attempt(request.remote or "unknown")
    if wait_s > 0:
        response = _signin_page(
            request, status=429, kind="error",
            notice=f"Too many sign-in attempts. Try again in {math.ceil(wait_s)} s.",
        )  # fmt: skip
        response.headers["Retry-After"] = str(math.ceil(wait_s))
        return response
    form = await request.post()
    if not check_csrf(request, request.cookies.get(SIGNIN_COOKIE), str(form.get("csrf_token", ""))):
        return _signin_page(
            request, status=403, kind="error",
            notice="The sign-in form expired or did not come from this console. Please try again.",
        )  # fmt: skip
    key = str(form.get("api_key", "")).strip()
    if not key:
        return _signin_page(request, status=400, kind="error", notice="Enter your reviewer API key.")
    try:
        caller = await state.client.who_am_i(key)
    except UnauthenticatedError:
        return _signin_page(request, status=401, kind="error", notice="That API key was not accepted.")
    except AgentplaneError as exc:
        return _signin_page(
            request, status=503, kind="error", notice=f"The controller cannot check keys right now: {exc.message}"
        )
    roles = frozenset(caller.roles)
    if not roles & REVIEWER_ROLES:
        return _signin_page(
            request, status=403, kind="error",
            notice=f"The key {caller.name!r} is valid but has no reviewer role: ask for a reviewer key.",
        )  # fmt: skip
    token, _ = state.sessions.create(key, caller.name, caller.tenant, roles)
    response = web.HTTPSeeOther("/queue")
    response.set_cookie(
        session_cookie_name(state), token, max_age=int(state.settings.session_ttl_s), path="/", httponly=True,
        samesite="Strict", secure=state.settings.cookies_secure,
    )  # fmt: skip
    response.del_cookie(SIGNIN_COOKIE, path="/signin")
    raise response


async def _signout(request: web.Request, session: Session) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    if not check_csrf(request, session.csrf_token, str(form.get("csrf_token", ""))):
        return csrf_refused(request, session)
    state.sessions.end(request.cookies.get(session_cookie_name(state)))
    response = web.HTTPSeeOther("/signin?ended=signout")
    response.del_cookie(session_cookie_name(state), path="/")
    raise response


def add_routes(app: web.Application) -> None:
    """Register the sign-in routes."""
    app.router.add_get("/signin", signin_form)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", with_session(_signout))

"""Signing in: the reviewer's name (recorded with every decision) and, when set, the token."""

from __future__ import annotations

import hmac
import math

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from rightswatch.review.pages.common import back_to, render, session_of, settings_of
from rightswatch.review.security import restart_session, safe_next

MAX_NAME_LENGTH = 200


async def login_form(request: Request) -> Response:
    return _form(request, None)


def _form(request: Request, error: str | None, status_code: int = 200) -> Response:
    settings = settings_of(request)
    return render(
        request,
        "login.html",
        {
            "needs_token": bool(settings.token),
            "default_name": session_of(request).get("reviewer") or settings.reviewer or "",
            "next": safe_next(request.query_params.get("next")),
            "error": error,
        },
        status_code,
    )


async def login(request: Request) -> Response:
    settings = settings_of(request)
    client = request.client.host if request.client else "?"
    wait = settings.throttle.retry_after(client) if settings.token else 0.0
    if wait > 0:
        seconds = math.ceil(wait)
        return PlainTextResponse(
            f"too many failed sign-ins: try again in {seconds} s",
            status_code=429,
            headers={"retry-after": str(seconds)},
        )
    form = await request.form()
    name = str(form.get("reviewer") or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(ord(ch) < 32 for ch in name):
        return _form(request, "Give your name: it is recorded with every decision.", 400)
    if settings.token:
        given = str(form.get("token") or "")
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            settings.throttle.failed(client)
            return _form(request, "Wrong token.", 403)
        settings.throttle.succeeded(client)
    restart_session(settings, session_of(request), reviewer=name, auth=True)
    return back_to(safe_next(str(form.get("next") or "/")))


async def logout(request: Request) -> Response:
    """Sign out: the session id is revoked on the server, so a copied cookie stops working."""
    restart_session(settings_of(request), session_of(request))
    return back_to("/login")

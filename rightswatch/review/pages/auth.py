"""Signing in: the reviewer's name (recorded with every decision) and, when set, the token."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from rightswatch.review.pages.common import back_to, render, session_of, settings_of
from rightswatch.review.security import safe_next

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
    form = await request.form()
    name = str(form.get("reviewer") or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(ord(ch) < 32 for ch in name):
        return _form(request, "Give your name: it is recorded with every decision.", 400)
    if settings.token:
        given = str(form.get("token") or "")
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            return _form(request, "Wrong token.", 403)
    session = session_of(request)
    session.update(reviewer=name, auth=True, csrf=secrets.token_urlsafe(32))
    return back_to(safe_next(str(form.get("next") or "/")))


async def logout(request: Request) -> Response:
    session = session_of(request)
    session.update(reviewer=None, auth=False, csrf=secrets.token_urlsafe(32))
    return back_to("/login")

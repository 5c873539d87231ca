"""What every page handler shares: settings, the case file, rendering and error pages."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from evidence.store import Store
from rightswatch.review.media import web_url
from rightswatch.review.settings import ReviewSettings

T = TypeVar("T")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# decisions append to one global custody sequence: one writer at a time in this process
DECISION_LOCK = threading.Lock()


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is escaped; platform text is never marked safe
        undefined=jinja2.StrictUndefined,
    )
    env.filters["web_url"] = web_url
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M:%S UTC") if d else ""
    return Jinja2Templates(env=env)


def settings_of(request: Request) -> ReviewSettings:
    settings: ReviewSettings = request.app.state.settings
    return settings


def session_of(request: Request) -> dict[str, Any]:
    session: dict[str, Any] = request.scope["rw_session"]
    return session


def reviewer_of(request: Request) -> str:
    """The signed-in reviewer's name (the guard lets no one through without one)."""
    name = session_of(request).get("reviewer") or settings_of(request).reviewer
    return str(name)


def flash(request: Request, message: str) -> None:
    session_of(request)["flash"] = message


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    session = session_of(request)
    base = {
        "csrf_token": session["csrf"],
        "reviewer": session.get("reviewer") or settings_of(request).reviewer,
        "flash": session.pop("flash", None),
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", {"status": status_code, "message": message}, status_code)


def back_to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def in_session(request: Request, work: Callable[[Store], T]) -> T:
    """Run ``work`` against the case file off the event loop (each evidence call is one
    transaction)."""
    store = settings_of(request).store
    return await run_in_threadpool(work, store)


async def deciding(request: Request, work: Callable[[Store], T]) -> T:
    """Like :func:`in_session`, one decision at a time (the custody sequence is global)."""
    store = settings_of(request).store

    def run() -> T:
        with DECISION_LOCK:
            return work(store)

    return await run_in_threadpool(run)

"""The review dashboard's ASGI app: routes, templates, static files, error pages, the guard."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rightswatch.review.evidence_api import EvidenceOps
from rightswatch.review.pages import auth, evidence, files, finding, queue, runs
from rightswatch.review.pages.common import error_page, make_templates
from rightswatch.review.security import Guard, allowed_hosts
from rightswatch.review.settings import ReviewSettings

STATIC = Path(__file__).resolve().parent / "static"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "rw_session" not in request.scope:
        return PlainTextResponse(exc.detail, status_code=exc.status_code)
    return error_page(request, exc.status_code, str(exc.detail))


def routes() -> list[Route | Mount]:
    return [
        Route("/", queue.queue_page, name="queue"),
        Route("/findings/{finding_id:int}", finding.finding_page, name="finding"),
        Route("/findings/{finding_id:int}/confirm", finding.confirm, methods=["POST"]),
        Route("/findings/{finding_id:int}/dismiss", finding.dismiss, methods=["POST"]),
        Route("/findings/{finding_id:int}/allowlist", finding.allowlist, methods=["POST"]),
        Route("/findings/{finding_id:int}/capture", evidence.capture_now, methods=["POST"]),
        Route("/findings/{finding_id:int}/export", evidence.export, methods=["POST"]),
        Route("/findings/{finding_id:int}/notice", evidence.notice, methods=["POST"]),
        Route("/runs", runs.runs_page, name="runs"),
        Route("/files/{path:path}", files.evidence_file, name="file"),
        Route("/references/{ref_id:int}/image", files.reference_image, name="reference"),
        Route("/login", auth.login_form, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(settings: ReviewSettings) -> Starlette:
    """The dashboard for one case file and evidence folder (no I/O until a request comes)."""
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings.host)),
            Middleware(Guard, settings=settings),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.evidence = EvidenceOps(settings.store, settings.config, settings.evidence_folder)
    return app

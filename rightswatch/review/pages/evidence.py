"""Evidence actions on a finding: capture now, export the bundle, draft a notice.

Each runs one evidence-package operation as the signed-in reviewer (so its custody events name
them) and returns to the finding, or to the exported file as a download.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from evidence.exceptions import EvidenceError
from evidence.models import NoticeTemplate
from rightswatch.review.errors import ReviewError
from rightswatch.review.evidence_api import EvidenceOps
from rightswatch.review.media import file_url
from rightswatch.review.pages.common import (
    DECISION_LOCK,
    back_to,
    error_page,
    flash,
    reviewer_of,
    settings_of,
)
from rightswatch.review.security import relative_to_root

T = TypeVar("T")


def _ops(request: Request) -> EvidenceOps:
    ops: EvidenceOps = request.app.state.evidence
    return ops


async def _run(request: Request, work: Callable[[], T]) -> T | Response:
    def locked() -> T:
        with DECISION_LOCK:
            return work()

    try:
        return await run_in_threadpool(locked)
    except ReviewError as exc:
        return error_page(request, exc.status_code, str(exc))
    except EvidenceError as exc:
        return error_page(request, 409, str(exc))


async def capture_now(request: Request) -> Response:
    finding_id = request.path_params["finding_id"]
    who = reviewer_of(request)
    outcome = await _run(request, lambda: _ops(request).capture(finding_id, actor=who))
    if isinstance(outcome, Response):
        return outcome
    flash(request, outcome)
    return back_to(f"/findings/{finding_id}")


async def export(request: Request) -> Response:
    finding_id = request.path_params["finding_id"]
    who = reviewer_of(request)
    out = await _run(request, lambda: _ops(request).export(finding_id, actor=who))
    if isinstance(out, Response):
        return out
    rel = relative_to_root(settings_of(request).evidence_folder, out)
    if rel is None:
        return error_page(request, 500, f"the export {out} is not below the evidence folder")
    return back_to(file_url(rel) + "?download=1")


async def notice(request: Request) -> Response:
    finding_id = request.path_params["finding_id"]
    form = await request.form()
    template = str(form.get("template") or "")
    if template not in {t.value for t in NoticeTemplate}:
        return error_page(request, 400, f"unknown notice template {template!r}")
    who = reviewer_of(request)
    path = await _run(request, lambda: _ops(request).notice(finding_id, template, actor=who))
    if isinstance(path, Response):
        return path
    flash(request, f"Notice drafted ({template}): {path.name}. Review it before sending.")
    return back_to(f"/findings/{finding_id}")

"""One finding: reference beside candidate, reasons, platform facts, captures, and decisions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from evidence.models import NoticeTemplate
from evidence.store import Store
from rightswatch.review import decisions, evidence_api, queries
from rightswatch.review.errors import ReviewError
from rightswatch.review.pages.common import (
    back_to,
    deciding,
    error_page,
    flash,
    in_session,
    render,
    reviewer_of,
    settings_of,
)
from rightswatch.review.platform_facts import platform_facts, region_of


async def finding_page(request: Request) -> Response:
    settings = settings_of(request)
    finding_id = request.path_params["finding_id"]
    view = await in_session(
        request, lambda s: queries.finding(s, finding_id, evidence_root=settings.evidence_folder)
    )
    if view is None:
        return error_page(request, 404, f"no finding {finding_id}")
    root = settings.evidence_folder

    def verify_all() -> dict[int, evidence_api.Verification]:
        return {
            c.id: evidence_api.verify(
                root / c.bundle if c.bundle else None,
                trusted_key_fingerprint=settings.trusted_key_fingerprint,
            )
            for c in view.captures
        }

    verifications = await run_in_threadpool(verify_all)
    return render(
        request,
        "finding.html",
        {
            "f": view,
            "facts": platform_facts(view.raw, view.licence),
            "region": region_of(view.reasons),
            "verifications": verifications,
            "can_allowlist": settings.config_path is not None and bool(view.creator),
            "notice_templates": [t.value for t in NoticeTemplate],
            "reviewable": sorted(s.value for s in decisions.REVIEWABLE),
        },
    )


async def _decide(
    request: Request, work: Callable[[Store, int, str, dict[str, str]], decisions.Outcome]
) -> Response:
    finding_id = request.path_params["finding_id"]
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    reviewer = reviewer_of(request)
    try:
        outcome = await deciding(request, lambda s: work(s, finding_id, reviewer, fields))
    except ReviewError as exc:
        return error_page(request, exc.status_code, str(exc))
    flash(request, outcome.message)
    return back_to(f"/findings/{finding_id}")


async def confirm(request: Request) -> Response:
    return await _decide(
        request,
        lambda s, fid, who, form: decisions.confirm(s, fid, reviewer=who, note=form.get("note")),
    )


async def dismiss(request: Request) -> Response:
    return await _decide(
        request,
        lambda s, fid, who, form: decisions.dismiss(
            s, fid, reviewer=who, reason=form.get("reason")
        ),
    )


async def allowlist(request: Request) -> Response:
    config_path = settings_of(request).config_path
    if config_path is None:
        return error_page(
            request, 409, "allowlisting writes to watch.toml: start the dashboard with --config"
        )
    path: Path = config_path
    return await _decide(
        request,
        lambda s, fid, who, _form: decisions.allowlist_creator(
            s, fid, reviewer=who, config_path=path
        ),
    )

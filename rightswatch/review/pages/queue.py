"""The queue: findings by score, filtered by character, platform, status and date, paged."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from evidence.models import FindingStatus
from rightswatch.review import queries
from rightswatch.review.pages.common import error_page, in_session, render, settings_of


def _filter(request: Request) -> queries.QueueFilter:
    params = request.query_params
    status = params.get("status") or None
    since = params.get("since") or None
    until = params.get("until") or None
    page = params.get("page") or "1"
    return queries.QueueFilter(
        character=params.get("character") or None,
        platform=params.get("platform") or None,
        status=FindingStatus(status) if status else None,
        since=date.fromisoformat(since) if since else None,
        until=date.fromisoformat(until) if until else None,
        page=int(page),
    )


async def queue_page(request: Request) -> Response:
    try:
        flt = _filter(request)
    except ValueError as exc:
        return error_page(request, 400, f"bad filter: {exc}")
    settings = settings_of(request)
    result = await in_session(
        request,
        lambda s: queries.queue(
            s, flt, page_size=settings.page_size, evidence_root=settings.evidence_folder
        ),
    )
    return render(
        request,
        "queue.html",
        {
            "result": result,
            "filter": flt,
            "query": flt.as_query(),
            "statuses": [s.value for s in FindingStatus],
        },
    )

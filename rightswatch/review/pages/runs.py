"""The run history, with a chart of findings per day per platform."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rightswatch.review import chart, queries
from rightswatch.review.pages.common import in_session, render


async def runs_page(request: Request) -> Response:
    rows, series = await in_session(
        request, lambda s: (queries.runs(s), queries.findings_per_day(s))
    )
    return render(request, "runs.html", {"runs": rows, "chart": chart.stacked_bars(series)})

"""Prominence: the listing where the platform showed a finding's item, sealed and framed.

The ruling weighed how prominently the platform placed infringing items (home page,
recommendations, search rank). :func:`capture_placement` seals the listing the crawl recorded
(evidence/placement.py) like any page, and its annotated copy frames the item's link with the
rank noted; the raw screenshots stay raw. The capture joins the finding's custody chain, is
kept apart from the captures of the item's own page (rechecks, notices) and is exported under
``findings/<id>/placement/``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from evidence.capture import CaptureJob, CaptureOptions, CaptureResult, capture
from evidence.capture.browser import launch_browser
from evidence.casefile import default_options, record_capture
from evidence.exceptions import NotFound
from evidence.models import Capture, CaptureKind, CaptureStatus, Finding
from evidence.placement import ItemPlacement
from evidence.settings import EvidenceSettings
from evidence.store import Store


def capture_placement(
    store: Store,
    finding_id: int,
    settings: EvidenceSettings,
    options: CaptureOptions | None = None,
) -> CaptureResult | None:
    """Seal the listing (home, search, recommended) where the platform showed the finding's
    item, with the item framed in the annotated copy and its rank noted (prominence).

    Returns None when the crawl recorded no web listing for the item. The capture is kept in
    the finding's custody chain and exported under ``findings/<id>/placement/``.
    """
    sealing = settings.sealing()
    with store.session() as session:
        finding = session.get(Finding, finding_id)
        if finding is None:
            raise NotFound("finding", finding_id)
        placement = ItemPlacement.from_raw(finding.candidate.raw)
        item_url = finding.candidate.page_url
        if placement is None or not (placement.listing_url or "").startswith(("http:", "https:")):
            return None
        row = Capture(url=placement.listing_url, kind=CaptureKind.MANUAL,
                      status=CaptureStatus.PENDING, meta={"placement_of": finding_id})  # fmt: skip
        session.add(row)
        session.flush()
        row_id = row.id
    opts = replace(options or default_options(settings), highlight_url=item_url, media_urls=())
    job = CaptureJob(
        url=str(placement.listing_url), root=settings.captures_dir, options=opts, sealing=sealing,
        subject={"placement_of": finding_id, "capture": row_id, "placement": placement.where,
                 "rank": placement.rank, "item_url": item_url},
    )  # fmt: skip

    async def main() -> CaptureResult:
        async with launch_browser(opts.chromium_path) as browser:
            return await capture(browser, job)

    result = asyncio.run(main())
    record_capture(store, row_id, finding_id, result, opts.operator, settings.folder)
    with store.session() as session:
        recorded = session.get(Capture, row_id)
        assert recorded is not None
        # not a capture of the item's page: kept apart from its captures and rechecks
        recorded.meta = {**recorded.meta, "placement_of": finding_id}
    return result

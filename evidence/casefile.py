"""Evidence work on the case file: capture findings, record captures and custody.

The functions the monitoring run, the scheduler and the review app call:

    capture_finding(store, finding_id, settings, options=None) -> CaptureResult
    capture_findings(store, finding_ids, settings, options=None) -> list[CaptureResult]
    recapture(store, finding_id, settings, options=None) -> CaptureResult
    capture_page(store, url, settings, options=None) -> CaptureResult   (no finding)
    record_decision(store, finding_id, status, reviewer=..., reason=None)  (review app)
    record_verification(store, finding_ids, report, actor=...)

Each capture gets a :class:`~evidence.models.Capture` row and custody events (captured, then
sealed or failed; rechecked for follow-ups). Follow-up captures link to the earlier ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Browser
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evidence import ledger
from evidence.anchors import anchor_finding
from evidence.capture import CaptureJob, CaptureOptions, CaptureOutcome, CaptureResult, capture
from evidence.capture.browser import launch_browser
from evidence.custody import GENESIS, CustodyAction
from evidence.exceptions import (
    DecisionError,
    EvidenceError,
    NotFound,
    SlotTaken,
    TimestampError,
)
from evidence.folders import private_folder
from evidence.lifecycle import Cause, allowed, change_status
from evidence.models import (
    Candidate,
    CandidateKind,
    Capture,
    CaptureKind,
    CaptureStatus,
    Finding,
    FindingStatus,
)
from evidence.paths import stored_path
from evidence.placement import CRAWL_KEY
from evidence.seal import SealConfig
from evidence.settings import EvidenceSettings
from evidence.store import Store
from evidence.verify import VerifyReport

REMOVED = FindingStatus.REMOVED

STATUS_OF = {
    CaptureOutcome.SEALED: CaptureStatus.SEALED,
    CaptureOutcome.REMOVED: CaptureStatus.REMOVED,
    CaptureOutcome.FAILED: CaptureStatus.FAILED,
}


def default_options(settings: EvidenceSettings) -> CaptureOptions:
    return CaptureOptions(
        operator=settings.operator,
        chromium_path=settings.chromium_path,
        guard=settings.capture_guard,
        sites=settings.capture_sites,
    )


def _plan(
    store: Store,
    finding_id: int,
    settings: EvidenceSettings,
    options: CaptureOptions,
    sealing: SealConfig,
    key: str | None = None,
) -> tuple[CaptureJob, int]:
    """The job for a finding and the id of its new (pending) Capture row.

    ``key`` is the capture's idempotency key; a key already in the case file raises
    :class:`SlotTaken` before anything is captured.
    """
    try:
        return _plan_row(store, finding_id, settings, options, sealing, key)
    except IntegrityError as exc:
        if key is None:
            raise
        raise SlotTaken(key) from exc


def _plan_row(
    store: Store,
    finding_id: int,
    settings: EvidenceSettings,
    options: CaptureOptions,
    sealing: SealConfig,
    key: str | None,
) -> tuple[CaptureJob, int]:
    with store.session() as session:
        finding = session.get(Finding, finding_id)
        if finding is None:
            raise NotFound("finding", finding_id)
        candidate = finding.candidate
        earlier_rows = session.scalars(
            select(Capture)
            .where(
                Capture.finding_id == finding_id,
                Capture.status.in_([CaptureStatus.SEALED, CaptureStatus.REMOVED]),
            )
            .order_by(Capture.started_at)
        ).all()
        earlier = [
            {
                "capture": r.id,
                "capture_id": r.meta.get("capture_id"),
                "manifest_sha256": r.manifest_sha256,
                "status": r.status.value,
                "started_at": r.started_at.isoformat(),
            }
            for r in earlier_rows
        ]
        follow_up = bool(earlier)
        media = finding_media(candidate, settings.model_file_max_bytes)
        row = Capture(
            finding_id=finding_id,
            previous_id=earlier_rows[-1].id if earlier_rows else None,
            url=candidate.page_url,
            kind=CaptureKind.RECHECK if follow_up else CaptureKind.INITIAL,
            status=CaptureStatus.PENDING,
            idempotency_key=key,
        )
        session.add(row)
        session.flush()
        chain = ledger.chain(session, finding_id=finding_id)
        subject = {
            "finding": finding_id,
            "capture": row.id,
            # the custody chain's head before this capture: the sealed manifest pins it, so an
            # entry deleted from the chain later is caught against this capture
            "custody_head": chain[-1].hash if chain else GENESIS,
            "platform": candidate.platform.name,
            "character": finding.character.name,
            "external_id": candidate.external_id,
        }
        job = CaptureJob(
            url=candidate.page_url,
            root=settings.captures_dir,
            options=replace(options, media_urls=options.media_urls or media, follow_up=follow_up),
            sealing=sealing,
            subject=subject,
            earlier=earlier,
        )
        return job, row.id


MAX_SAMPLES = 4  # sample images of a model captured beside its page


def finding_media(candidate: Candidate, model_file_max_bytes: int) -> tuple[str, ...]:
    """What a capture fetches beside the page: the item's media; for a model, its sample
    images and its files no larger than ``model_file_max_bytes`` (the model itself)."""
    urls = [candidate.media_url] if candidate.media_url else []
    if candidate.kind is CandidateKind.MODEL:
        crawl = (candidate.raw or {}).get(CRAWL_KEY) or {}
        urls += [str(u) for u in (crawl.get("media_urls") or [])[:MAX_SAMPLES]]
        for item in crawl.get("files") or []:
            size = item.get("size_bytes")
            if item.get("url") and isinstance(size, int) and 0 < size <= model_file_max_bytes:
                urls.append(str(item["url"]))
    return tuple(dict.fromkeys(urls))


def record_capture(
    store: Store,
    row_id: int,
    finding_id: int | None,
    result: CaptureResult,
    operator: str,
    root: Path,
) -> None:
    with store.session() as session:
        row = session.get(Capture, row_id)
        assert row is not None
        row.status = STATUS_OF[result.outcome]
        row.finished_at = datetime.now(UTC)
        row.http_status = result.status
        # relative to the evidence folder: a copied or restored case folder still finds it
        directory = stored_path(result.directory, root) if result.directory else None
        row.bundle_path = directory
        row.manifest_sha256 = result.manifest_sha256 or None
        row.timestamps = list(result.seal.get("timestamps", []))
        row.error = None if result.sealed else result.message
        row.meta = {
            "capture_id": result.capture_id,
            "outcome": result.outcome.value,
            "reason": result.reason.value if result.reason else None,
            "final_url": result.final_url,
            "seal": dict(result.seal),
            "stages": dict(result.stages),
        }
        base: dict[str, Any] = {
            "capture_id": result.capture_id,
            "url": result.url,
            "outcome": result.outcome.value,
            "http_status": result.status,
        }
        ids = {"finding_id": finding_id, "capture_id": row_id}
        action = CustodyAction.RECHECKED if row.kind is CaptureKind.RECHECK else None
        ledger.record(session, CustodyAction.CAPTURED, actor=operator, details=base, **ids)
        if result.sealed:
            details = {**base, **dict(result.seal), "directory": directory}
            ledger.record(session, CustodyAction.SEALED, actor=operator, details=details, **ids)
        else:
            details = {**base, "reason": result.reason.value if result.reason else None,
                       "message": result.message}  # fmt: skip
            ledger.record(session, CustodyAction.FAILED, actor=operator, details=details, **ids)
        if action is not None and finding_id is not None:
            finding = session.get(Finding, finding_id)
            gone = result.outcome is CaptureOutcome.REMOVED
            if gone and finding is not None and allowed(Cause.RECHECK, finding.status, REMOVED):
                change_status(
                    session, finding_id, REMOVED, cause=Cause.RECHECK, actor=operator,
                    reason=f"page gone (HTTP {result.status}) at recheck",
                    details={**base, "capture_id": result.capture_id},
                )  # fmt: skip
            else:
                ledger.record(session, action, actor=operator, details=base, **ids)


async def _capture_many(
    store: Store,
    finding_ids: Sequence[int],
    settings: EvidenceSettings,
    options: CaptureOptions,
    browser: Browser | None,
    keys: Mapping[int, str] | None = None,
) -> list[CaptureResult]:
    sealing = settings.sealing()  # a missing key or CA fails before anything is recorded
    private_folder(settings.folder)

    async def run(browser: Browser) -> list[CaptureResult]:
        results = []
        for finding_id in finding_ids:
            key = keys.get(finding_id) if keys else None
            job, row_id = _plan(store, finding_id, settings, options, sealing, key)
            result = await capture(browser, job)
            record_capture(store, row_id, finding_id, result, options.operator, settings.folder)
            results.append(result)
        return results

    if browser is not None:
        return await run(browser)
    async with launch_browser(options.chromium_path) as launched:
        return await run(launched)


def capture_findings(
    store: Store,
    finding_ids: Sequence[int],
    settings: EvidenceSettings,
    options: CaptureOptions | None = None,
    keys: Mapping[int, str] | None = None,
) -> list[CaptureResult]:
    """Capture (or re-capture) each finding's page with one shared browser.

    ``keys`` maps a finding id to an idempotency key stored on its capture row (unique in the
    case file: a second capture with the same key raises :class:`SlotTaken`).
    """
    opts = options or default_options(settings)
    return asyncio.run(_capture_many(store, finding_ids, settings, opts, None, keys))


async def capture_findings_async(
    store: Store,
    finding_ids: Sequence[int],
    settings: EvidenceSettings,
    options: CaptureOptions | None = None,
    browser: Browser | None = None,
    keys: Mapping[int, str] | None = None,
) -> list[CaptureResult]:
    """As :func:`capture_findings`, inside a running event loop (optionally a given browser)."""
    opts = options or default_options(settings)
    return await _capture_many(store, finding_ids, settings, opts, browser, keys)


def capture_finding(
    store: Store,
    finding_id: int,
    settings: EvidenceSettings,
    options: CaptureOptions | None = None,
) -> CaptureResult:
    """Capture one finding's page; a follow-up when it was captured before."""
    return capture_findings(store, [finding_id], settings, options)[0]


def recapture(
    store: Store,
    finding_id: int,
    settings: EvidenceSettings,
    options: CaptureOptions | None = None,
) -> CaptureResult:
    """Re-check a finding: a sealed capture proves presence; a sealed 'removed' one, removal."""
    return capture_finding(store, finding_id, settings, options)


def capture_page(
    store: Store,
    url: str,
    settings: EvidenceSettings,
    options: CaptureOptions | None = None,
    sealing: SealConfig | None = None,
) -> CaptureResult:
    """Capture a bare URL (no finding); recorded as a manual capture with its own chain."""
    opts = options or default_options(settings)
    sealing = sealing or settings.sealing()
    private_folder(settings.folder)
    with store.session() as session:
        row = Capture(url=url, kind=CaptureKind.MANUAL, status=CaptureStatus.PENDING)
        session.add(row)
        session.flush()
        row_id = row.id
    job = CaptureJob(
        url=url,
        root=settings.captures_dir,
        options=opts,
        sealing=sealing,
        subject={"capture": row_id},
    )

    async def main() -> CaptureResult:
        async with launch_browser(opts.chromium_path) as browser:
            return await capture(browser, job)

    result = asyncio.run(main())
    record_capture(store, row_id, None, result, opts.operator, settings.folder)
    return result


def record_decision(
    store: Store,
    finding_id: int,
    status: FindingStatus,
    *,
    reviewer: str,
    reason: str | None = None,
) -> None:
    """A person's decision on a finding (confirm or dismiss), through :func:`change_status`."""
    if status not in (FindingStatus.CONFIRMED, FindingStatus.DISMISSED):
        raise DecisionError(
            f"finding {finding_id}: {status.value} is set by notices and rechecks, not by review"
        )
    with store.session() as session:
        change_status(
            session, finding_id, status, cause=Cause.REVIEW, actor=reviewer, reason=reason
        )


def anchor_run(
    store: Store, finding_ids: Sequence[int], settings: EvidenceSettings, *, purpose: str = "run"
) -> list[str]:
    """Timestamp the custody head of each finding whose chain grew (end of a run or recheck).

    Returns one line per finding that could not be anchored (the run reports them); a
    finding anchored since its last entry is skipped.
    """
    try:
        stampers = settings.sealing().timestampers
    except EvidenceError as exc:  # e.g. no key on this machine: the run reports it, goes on
        return [f"custody not anchored: {exc}"]
    problems = []
    for finding_id in finding_ids:
        try:
            anchor_finding(store, finding_id, stampers, actor=settings.operator, purpose=purpose)
        except TimestampError as exc:
            problems.append(f"finding {finding_id}: custody not anchored ({exc})")
    return problems


def record_verification(
    store: Store, finding_ids: Sequence[int], report: VerifyReport, *, actor: str
) -> None:
    """Note in each finding's custody chain that a bundle was verified, and the outcome."""
    details = {
        "source": Path(report.source).name,
        "ok": report.ok,
        "checks": len(report.checks),
        "problems": [f"{c.name}: {c.file}" for c in report.problems][:50],
    }
    with store.session() as session:
        for finding_id in finding_ids:
            if session.get(Finding, finding_id) is None:
                raise NotFound("finding", finding_id)
            ledger.record(
                session, CustodyAction.VERIFIED, actor=actor, finding_id=finding_id, details=details
            )

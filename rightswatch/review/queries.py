"""Read models for the pages: the queue, one finding, the run history.

Pages receive plain frozen values, never live ORM rows, so templates cannot lazy-load or write.
Platform text is passed through untouched; the templates escape it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from evidence.models import (
    Candidate,
    Capture,
    Character,
    CrawlRun,
    CustodyEvent,
    Finding,
    FindingStatus,
    Platform,
    ReferenceImage,
)
from rightswatch.review.media import CaptureFiles, candidate_thumbnail, capture_files, file_url
from rightswatch.review.security import relative_to_root


@dataclass(frozen=True)
class QueueFilter:
    character: str | None = None
    platform: str | None = None
    status: FindingStatus | None = None
    since: date | None = None
    until: date | None = None
    page: int = 1

    def as_query(self) -> dict[str, str]:
        """The filter as query parameters (for paging links)."""
        values = {
            "character": self.character,
            "platform": self.platform,
            "status": self.status.value if self.status else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class QueueRow:
    id: int
    score: float
    decision: str
    status: str
    character: str
    platform: str
    kind: str
    title: str
    creator: str | None
    created_at: datetime
    page_url: str
    thumbnail: str | None


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    total: int
    page: int
    pages: int
    characters: tuple[str, ...]
    platforms: tuple[str, ...]


def _filtered(query: Any, flt: QueueFilter) -> Any:
    if flt.character:
        query = query.where(Character.name == flt.character)
    if flt.platform:
        query = query.where(Platform.name == flt.platform)
    if flt.status:
        query = query.where(Finding.status == flt.status)
    if flt.since:
        query = query.where(Finding.created_at >= _day_start(flt.since))
    if flt.until:
        query = query.where(Finding.created_at < _day_start(flt.until + timedelta(days=1)))
    return query


def _day_start(day: date) -> datetime:
    from datetime import UTC

    return datetime.combine(day, time.min, tzinfo=UTC)


def _joined(query: Any) -> Any:
    return (
        query.join(Candidate, Finding.candidate_id == Candidate.id)
        .join(Platform, Candidate.platform_id == Platform.id)
        .join(Character, Finding.character_id == Character.id)
    )


def queue(session: Session, flt: QueueFilter, *, page_size: int, evidence_root: Path) -> QueuePage:
    """One page of findings, highest score first, with the filter's choices."""
    total = session.scalar(_filtered(_joined(select(func.count(Finding.id))), flt)) or 0
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, flt.page), pages)
    query = (
        _filtered(_joined(select(Finding, Candidate, Platform.name, Character.name)), flt)
        .options(selectinload(Finding.captures))
        .order_by(Finding.score.desc(), Finding.id)
    )
    rows = []
    for finding, cand, plat, char in session.execute(
        query.offset((page - 1) * page_size).limit(page_size)
    ):
        rows.append(
            QueueRow(
                id=finding.id,
                score=finding.score,
                decision=finding.decision.value,
                status=finding.status.value,
                character=char,
                platform=plat,
                kind=cand.kind.value,
                title=cand.title,
                creator=cand.creator,
                created_at=finding.created_at,
                page_url=cand.page_url,
                thumbnail=candidate_thumbnail(cand, finding.captures, evidence_root),
            )
        )
    characters = tuple(session.scalars(select(Character.name).distinct().order_by(Character.name)))
    platforms = tuple(session.scalars(select(Platform.name).order_by(Platform.name)))
    return QueuePage(tuple(rows), total, page, pages, characters, platforms)


@dataclass(frozen=True)
class CaptureView:
    id: int
    kind: str
    status: str
    url: str
    started_at: datetime
    finished_at: datetime | None
    http_status: int | None
    manifest_sha256: str | None
    timestamps: tuple[str, ...]
    error: str | None
    bundle: str | None  # below the evidence root
    screenshots: tuple[str, ...]


@dataclass(frozen=True)
class CustodyView:
    seq: int
    at: datetime
    event: str
    actor: str
    details: dict[str, Any]
    entry_hash: str


@dataclass(frozen=True)
class NoticeView:
    id: int
    template: str
    created_at: datetime
    sent_at: datetime | None
    file: str | None  # /files/ link when the draft lies below the evidence folder
    sha256: str | None


@dataclass(frozen=True)
class FindingView:
    id: int
    score: float
    decision: str
    status: str
    status_reason: str | None
    reviewer: str | None
    character: str
    character_id: int
    reasons: tuple[dict[str, Any], ...]
    platform: str
    kind: str
    title: str
    creator: str | None
    tags: tuple[str, ...]
    licence: dict[str, Any]
    raw: dict[str, Any]
    page_url: str
    media_url: str | None
    external_id: str
    candidate_image: str | None
    reference_id: int | None
    reference_label: str | None
    captures: tuple[CaptureView, ...]
    custody: tuple[CustodyView, ...]
    created_at: datetime
    notices: tuple[NoticeView, ...]


def finding(session: Session, finding_id: int, *, evidence_root: Path) -> FindingView | None:
    """Everything the finding page shows, or None when there is no such finding."""
    row = session.get(Finding, finding_id)
    if row is None:
        return None
    cand = row.candidate
    ref = _reference_for(session, row)
    captures = tuple(
        _capture_view(c, capture_files(c, evidence_root))
        for c in sorted(row.captures, key=lambda c: c.started_at, reverse=True)
    )
    events = session.scalars(
        select(CustodyEvent).where(CustodyEvent.finding_id == row.id).order_by(CustodyEvent.seq)
    )
    custody = tuple(
        CustodyView(e.seq, e.at, e.event, e.actor, dict(e.details), e.entry_hash) for e in events
    )
    return FindingView(
        id=row.id,
        score=row.score,
        decision=row.decision.value,
        status=row.status.value,
        status_reason=row.status_reason,
        reviewer=row.reviewer,
        character=row.character.name,
        character_id=row.character_id,
        reasons=tuple(r if isinstance(r, dict) else {"sentence": str(r)} for r in row.reasons),
        platform=cand.platform.name,
        kind=cand.kind.value,
        title=cand.title,
        creator=cand.creator,
        tags=tuple(str(t) for t in cand.tags),
        licence=dict(cand.licence),
        raw=dict(cand.raw),
        page_url=cand.page_url,
        media_url=cand.media_url,
        external_id=cand.external_id,
        candidate_image=candidate_thumbnail(cand, row.captures, evidence_root),
        reference_id=ref.id if ref else None,
        reference_label=Path(ref.path).name if ref else None,
        captures=captures,
        custody=custody,
        created_at=row.created_at,
        notices=tuple(
            NoticeView(
                id=n.id,
                template=n.template.value,
                created_at=n.created_at,
                sent_at=n.sent_at,
                file=_file_link(evidence_root, n.path),
                sha256=n.sha256,
            )
            for n in sorted(row.notices, key=lambda n: n.created_at)
        ),
    )


def _capture_view(c: Capture, files: CaptureFiles) -> CaptureView:
    return CaptureView(
        id=c.id,
        kind=c.kind.value,
        status=c.status.value,
        url=c.url,
        started_at=c.started_at,
        finished_at=c.finished_at,
        http_status=c.http_status,
        manifest_sha256=c.manifest_sha256,
        timestamps=tuple(_timestamp_label(t) for t in c.timestamps),
        error=c.error,
        bundle=files.bundle,
        screenshots=files.screenshots,
    )


def _file_link(root: Path, path: str | None) -> str | None:
    rel = relative_to_root(root, path)
    return None if rel is None else file_url(rel)


def _timestamp_label(token: Any) -> str:
    if isinstance(token, dict):
        parts = [str(token.get(k)) for k in ("tsa", "gen_time", "serial") if token.get(k)]
        return " · ".join(parts) or "token"
    return str(token)


def _reference_for(session: Session, row: Finding) -> ReferenceImage | None:
    """The reference the engine matched (by path, file name or SHA-256), else the first one."""
    refs = list(
        session.scalars(
            select(ReferenceImage)
            .where(ReferenceImage.character_id == row.character_id)
            .order_by(ReferenceImage.id)
        )
    )
    if row.reference:
        for ref in refs:
            if row.reference in (ref.path, ref.sha256, Path(ref.path).name):
                return ref
    return refs[0] if refs else None


@dataclass(frozen=True)
class RunRow:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    platforms: tuple[str, ...]
    stats: dict[str, Any]
    findings: int
    error: str | None


def runs(session: Session, *, limit: int = 50) -> tuple[RunRow, ...]:
    """The latest runs, newest first, each with the number of findings it recorded."""
    counts: dict[int | None, int] = {
        run_id: count
        for run_id, count in session.execute(
            select(Finding.run_id, func.count(Finding.id))
            .where(Finding.run_id.is_not(None))
            .group_by(Finding.run_id)
        )
    }
    rows = session.scalars(select(CrawlRun).order_by(CrawlRun.started_at.desc()).limit(limit))
    return tuple(
        RunRow(
            id=r.id,
            started_at=r.started_at,
            finished_at=r.finished_at,
            status=r.status.value,
            platforms=tuple(str(p) for p in r.platforms),
            stats=dict(r.stats),
            findings=int(counts.get(r.id, 0)),
            error=r.error,
        )
        for r in rows
    )


def findings_per_day(session: Session, *, days: int = 30) -> dict[str, dict[date, int]]:
    """Platform name -> day -> number of findings recorded that day, over the last ``days``."""
    latest = session.scalar(select(func.max(Finding.created_at)))
    if latest is None:
        return {}
    start = _day_start(latest.date() - timedelta(days=days - 1))
    series: dict[str, dict[date, int]] = {}
    query = (
        select(Platform.name, Finding.created_at)
        .join(Candidate, Finding.candidate_id == Candidate.id)
        .join(Platform, Candidate.platform_id == Platform.id)
        .where(Finding.created_at >= start)
    )
    for name, created in session.execute(query):
        day_counts = series.setdefault(name, {})
        day_counts[created.date()] = day_counts.get(created.date(), 0) + 1
    return series

"""Findings for review: the queue (filtered, paged), one finding's detail, run counts, and a
reference image's stored path.

Each call is one read transaction returning frozen rows, never live ORM rows, so the review
app cannot lazy-load or write through them. The rows carry what is stored (paths as recorded,
the candidate's raw metadata); turning paths into links and thumbnails is the review app's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from evidence.kinds import CaptureStatus, FindingStatus
from evidence.models import (
    Candidate,
    Capture,
    Character,
    CrawlRun,
    CustodyEvent,
    Finding,
    Platform,
    ReferenceImage,
)
from evidence.store import Store


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
class CaptureRow:
    """One capture as stored (``bundle_path`` as recorded, relative or older absolute)."""

    id: int
    kind: str
    status: CaptureStatus
    url: str
    started_at: datetime
    finished_at: datetime | None
    http_status: int | None
    bundle_path: str | None
    manifest_sha256: str | None
    timestamps: tuple[Any, ...]
    error: str | None


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
    raw: dict[str, Any]
    captures: tuple[CaptureRow, ...]


@dataclass(frozen=True)
class Queue:
    rows: tuple[QueueRow, ...]
    total: int
    page: int
    pages: int
    characters: tuple[str, ...]
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class CustodyRow:
    seq: int
    at: datetime
    event: str
    actor: str
    details: dict[str, Any]
    entry_hash: str


@dataclass(frozen=True)
class NoticeRow:
    id: int
    template: str
    created_at: datetime
    sent_at: datetime | None
    path: str | None
    sha256: str | None


@dataclass(frozen=True)
class FindingDetail:
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
    reference_id: int | None
    reference_label: str | None
    captures: tuple[CaptureRow, ...]  # newest first
    custody: tuple[CustodyRow, ...]
    created_at: datetime
    notices: tuple[NoticeRow, ...]  # oldest first


@dataclass(frozen=True)
class Reviewable:
    """What a reviewer's decision needs to know of a finding before it moves it."""

    id: int
    status: FindingStatus
    character: str
    creator: str | None


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


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


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


def _joined(query: Any) -> Any:
    return (
        query.join(Candidate, Finding.candidate_id == Candidate.id)
        .join(Platform, Candidate.platform_id == Platform.id)
        .join(Character, Finding.character_id == Character.id)
    )


def _capture_row(c: Capture) -> CaptureRow:
    return CaptureRow(
        id=c.id,
        kind=c.kind.value,
        status=c.status,
        url=c.url,
        started_at=c.started_at,
        finished_at=c.finished_at,
        http_status=c.http_status,
        bundle_path=c.bundle_path,
        manifest_sha256=c.manifest_sha256,
        timestamps=tuple(c.timestamps),
        error=c.error,
    )


def queue(store: Store, flt: QueueFilter, *, page_size: int) -> Queue:
    """One page of findings, highest score first, with the filter's choices."""
    with store.session() as session:
        total = session.scalar(_filtered(_joined(select(func.count(Finding.id))), flt)) or 0
        pages = max(1, math.ceil(total / page_size))
        page = min(max(1, flt.page), pages)
        query = (
            _filtered(_joined(select(Finding, Candidate, Platform.name, Character.name)), flt)
            .options(selectinload(Finding.captures))
            .order_by(Finding.score.desc(), Finding.id)
        )
        rows = tuple(
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
                raw=dict(cand.raw),
                captures=tuple(_capture_row(c) for c in finding.captures),
            )
            for finding, cand, plat, char in session.execute(
                query.offset((page - 1) * page_size).limit(page_size)
            )
        )
        characters = tuple(
            session.scalars(select(Character.name).distinct().order_by(Character.name))
        )
        platforms = tuple(session.scalars(select(Platform.name).order_by(Platform.name)))
    return Queue(rows, total, page, pages, characters, platforms)


def finding_detail(store: Store, finding_id: int) -> FindingDetail | None:
    """Everything stored about one finding for its page, or None when there is none."""
    with store.session() as session:
        row = session.get(Finding, finding_id)
        if row is None:
            return None
        cand = row.candidate
        ref = _reference_for(session, row)
        events = session.scalars(
            select(CustodyEvent).where(CustodyEvent.finding_id == row.id).order_by(CustodyEvent.seq)
        )
        return FindingDetail(
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
            reference_id=ref.id if ref else None,
            reference_label=Path(ref.path).name if ref else None,
            captures=tuple(
                _capture_row(c)
                for c in sorted(row.captures, key=lambda c: c.started_at, reverse=True)
            ),
            custody=tuple(
                CustodyRow(e.seq, e.at, e.event, e.actor, dict(e.details), e.entry_hash)
                for e in events
            ),
            created_at=row.created_at,
            notices=tuple(
                NoticeRow(n.id, n.template.value, n.created_at, n.sent_at, n.path, n.sha256)
                for n in sorted(row.notices, key=lambda n: n.created_at)
            ),
        )


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


def reviewable(store: Store, finding_id: int) -> Reviewable | None:
    """The finding's status, character and creator, or None when there is no such finding."""
    with store.session() as session:
        row = session.get(Finding, finding_id)
        if row is None:
            return None
        return Reviewable(row.id, row.status, row.character.name, row.candidate.creator)


def runs(store: Store, *, limit: int = 50) -> tuple[RunRow, ...]:
    """The latest runs, newest first, each with the number of findings it recorded."""
    with store.session() as session:
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


def findings_per_day(store: Store, *, days: int = 30) -> dict[str, dict[date, int]]:
    """Platform name -> day -> number of findings recorded that day, over the last ``days``."""
    with store.session() as session:
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


def reference_image_path(store: Store, reference_id: int) -> Path | None:
    """Where a reference image is stored, or None when there is no such reference."""
    with store.session() as session:
        ref = session.get(ReferenceImage, reference_id)
        return Path(ref.path) if ref else None

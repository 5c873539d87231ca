"""Read models for the pages: the queue, one finding, the run history.

The case file is read by :mod:`evidence.queries.review`; this module adds what only the web
app knows: ``/files/`` links, thumbnails and capture folders below the evidence root.
Pages receive plain frozen values, never live ORM rows, so templates cannot lazy-load or write.
Platform text is passed through untouched; the templates escape it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from evidence.queries import review
from evidence.queries.review import CustodyRow, QueueFilter, RunRow
from evidence.store import Store
from rightswatch.review.media import CaptureFiles, candidate_thumbnail, capture_files, file_url
from rightswatch.review.security import relative_to_root

__all__ = ["QueueFilter", "RunRow", "finding", "findings_per_day", "queue", "runs"]


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


def queue(store: Store, flt: QueueFilter, *, page_size: int, evidence_root: Path) -> QueuePage:
    """One page of findings, highest score first, with the filter's choices."""
    found = review.queue(store, flt, page_size=page_size)
    rows = tuple(
        QueueRow(
            id=r.id,
            score=r.score,
            decision=r.decision,
            status=r.status,
            character=r.character,
            platform=r.platform,
            kind=r.kind,
            title=r.title,
            creator=r.creator,
            created_at=r.created_at,
            page_url=r.page_url,
            thumbnail=candidate_thumbnail(r, r.captures, evidence_root),
        )
        for r in found.rows
    )
    return QueuePage(rows, found.total, found.page, found.pages, found.characters, found.platforms)


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
    custody: tuple[CustodyRow, ...]  # as the case file holds them
    created_at: datetime
    notices: tuple[NoticeView, ...]


def finding(store: Store, finding_id: int, *, evidence_root: Path) -> FindingView | None:
    """Everything the finding page shows, or None when there is no such finding."""
    row = review.finding_detail(store, finding_id)
    if row is None:
        return None
    return FindingView(
        id=row.id,
        score=row.score,
        decision=row.decision,
        status=row.status,
        status_reason=row.status_reason,
        reviewer=row.reviewer,
        character=row.character,
        character_id=row.character_id,
        reasons=row.reasons,
        platform=row.platform,
        kind=row.kind,
        title=row.title,
        creator=row.creator,
        tags=row.tags,
        licence=row.licence,
        raw=row.raw,
        page_url=row.page_url,
        media_url=row.media_url,
        external_id=row.external_id,
        candidate_image=candidate_thumbnail(row, row.captures, evidence_root),
        reference_id=row.reference_id,
        reference_label=row.reference_label,
        captures=tuple(_capture_view(c, capture_files(c, evidence_root)) for c in row.captures),
        custody=row.custody,
        created_at=row.created_at,
        notices=tuple(
            NoticeView(
                id=n.id,
                template=n.template,
                created_at=n.created_at,
                sent_at=n.sent_at,
                file=_file_link(evidence_root, n.path),
                sha256=n.sha256,
            )
            for n in row.notices
        ),
    )


def _capture_view(c: review.CaptureRow, files: CaptureFiles) -> CaptureView:
    return CaptureView(
        id=c.id,
        kind=c.kind,
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


def runs(store: Store, *, limit: int = 50) -> tuple[RunRow, ...]:
    """The latest runs, newest first, each with the number of findings it recorded."""
    return review.runs(store, limit=limit)


def findings_per_day(store: Store, *, days: int = 30) -> dict[str, dict[date, int]]:
    """Platform name -> day -> number of findings recorded that day, over the last ``days``."""
    return review.findings_per_day(store, days=days)

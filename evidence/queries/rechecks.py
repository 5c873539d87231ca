"""Rechecks' reads: findings due for a fresh capture, and how fast platforms removed content."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select

from evidence.kinds import CaptureStatus, FindingStatus
from evidence.models import Candidate, Finding, Platform
from evidence.store import Store


def findings_due(
    store: Store, statuses: Collection[FindingStatus], interval: timedelta, now: datetime
) -> list[int]:
    """Findings in ``statuses`` whose latest capture (failed ones aside) is older than
    ``interval``, or that have none."""
    with store.session() as session:
        due: list[int] = []
        for finding in session.scalars(
            select(Finding).where(Finding.status.in_(tuple(statuses))).order_by(Finding.id)
        ):
            done = [c.started_at for c in finding.captures if c.status is not CaptureStatus.FAILED]
            if not done or now - max(done) >= interval:
                due.append(finding.id)
        return due


def response_times(store: Store) -> dict[str, dict[str, float]]:
    """Per platform: hours from the first notice to the sealed proof of removal."""
    hours: dict[str, list[float]] = {}
    with store.session() as session:
        rows = session.execute(
            select(Finding, Platform.name)
            .join(Candidate, Finding.candidate_id == Candidate.id)
            .join(Platform, Candidate.platform_id == Platform.id)
            .where(Finding.status == FindingStatus.REMOVED, Finding.notices.any())
        ).all()
        for finding, platform in rows:
            noticed = min(n.created_at for n in finding.notices)
            gone = [
                c.started_at
                for c in finding.captures
                if c.status is CaptureStatus.REMOVED and c.started_at >= noticed
            ]
            if gone:
                hours.setdefault(platform, []).append((min(gone) - noticed).total_seconds() / 3600)
    return {
        p: {"removed": len(v), "median_hours": round(median(v), 1), "max_hours": round(max(v), 1)}
        for p, v in sorted(hours.items())
    }

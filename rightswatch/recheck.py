"""Rechecks: re-capture confirmed or noticed findings to prove presence after notice, or removal.

A page that is gone gets a sealed "removed" capture and the finding becomes ``removed`` (the
evidence package records both). One still online ``persisting_after_days`` after the first
notice becomes ``persisting``, with the fresh sealed capture as proof. Per-platform response
times (notice to sealed removal) are reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import select

from evidence.casefile import anchor_run, capture_findings
from evidence.lease import hold
from evidence.lifecycle import Cause, allowed, change_status
from evidence.models import Candidate, CaptureStatus, Finding, FindingStatus, Platform
from evidence.store import Store
from rightswatch.config import load_config
from rightswatch.evidence_settings import evidence_settings

log = logging.getLogger("rightswatch.recheck")

Say = Callable[[str], None]


def lease_name(client: str) -> str:
    """One lease per client configuration: its runs and rechecks never overlap."""
    return f"rightswatch:{client}"


RECHECKED_STATUSES = (FindingStatus.CONFIRMED, FindingStatus.NOTICED, FindingStatus.PERSISTING)


@dataclass
class RecheckSummary:
    checked: int = 0
    present: int = 0
    removed: list[int] = field(default_factory=list)
    persisting: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # platform -> notice-to-removal times in hours
    response_hours: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def findings_due(store: Store, interval: timedelta, now: datetime) -> list[int]:
    """Confirmed or noticed findings whose latest capture is older than ``interval``."""
    with store.session() as session:
        due: list[int] = []
        for finding in session.scalars(
            select(Finding).where(Finding.status.in_(RECHECKED_STATUSES)).order_by(Finding.id)
        ):
            done = [c.started_at for c in finding.captures if c.status is not CaptureStatus.FAILED]
            if not done or now - max(done) >= interval:
                due.append(finding.id)
        return due


def run_rechecks(
    config_file: Path, store: Store, *, now: datetime | None = None, say: Say = log.info
) -> RecheckSummary:
    """Re-capture due findings: removal is sealed as proof; presence long after notice is
    marked persisting."""
    config_file = config_file.resolve()
    config = load_config(config_file)
    settings = evidence_settings(config)
    now = now or datetime.now(UTC)
    summary = RecheckSummary()
    with hold(store, lease_name(config.client.name)):
        ids = findings_due(store, timedelta(days=config.recheck.interval_days), now)
        say(f"rechecking {len(ids)} finding(s)")
        results = capture_findings(store, ids, settings) if ids else []
        persist_after = timedelta(days=config.recheck.persisting_after_days)
        for finding_id, result in zip(ids, results, strict=True):
            summary.checked += 1
            if not result.sealed:
                summary.failed.append(f"finding {finding_id}: {result.message}")
            elif result.outcome.value == CaptureStatus.REMOVED.value:
                summary.removed.append(finding_id)
            else:
                summary.present += 1
                if _mark_persisting(store, finding_id, now, persist_after, settings.operator):
                    summary.persisting.append(finding_id)
        if ids:  # the custody heads of the rechecked findings, timestamped
            summary.failed += anchor_run(store, ids, settings)
        summary.response_hours = response_times(store)
    return summary


def _mark_persisting(
    store: Store, finding_id: int, now: datetime, after: timedelta, actor: str
) -> bool:
    with store.session() as session:
        finding = session.get(Finding, finding_id)
        if finding is None or not finding.notices:
            return False
        first = min(n.created_at for n in finding.notices)
        if now - first < after:
            return False
        if allowed(Cause.RECHECK, finding.status, FindingStatus.PERSISTING):
            change_status(
                session, finding_id, FindingStatus.PERSISTING, cause=Cause.RECHECK,
                actor=actor,
                reason=f"still online {(now - first).days} days after the notice of "
                f"{first:%Y-%m-%d}",
            )  # fmt: skip
        return True


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

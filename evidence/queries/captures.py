"""Which findings a monitoring run captures, and the top one it sealed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select

from evidence.kinds import CaptureStatus, Decision, FindingStatus
from evidence.models import Capture, Finding
from evidence.store import Store

PROOF = (CaptureStatus.SEALED, CaptureStatus.REMOVED)


def findings_to_capture(store: Store, threshold: float, limit: int) -> list[int]:
    """New, flagged findings at or above ``threshold`` that have no sealed capture yet."""
    sealed = exists().where(Capture.finding_id == Finding.id, Capture.status.in_(PROOF))
    query = (
        select(Finding.id)
        .where(
            Finding.status == FindingStatus.NEW,
            Finding.decision == Decision.FLAG,
            Finding.score >= threshold,
            ~sealed,
        )
        .order_by(Finding.score.desc(), Finding.id)
        .limit(limit)
    )
    with store.session() as session:
        return list(session.scalars(query))


@dataclass(frozen=True)
class SealedFinding:
    """A finding and its latest sealed capture's folder."""

    finding_id: int
    score: float
    capture_dir: str | None


def top_sealed(store: Store, finding_ids: Sequence[int]) -> SealedFinding | None:
    """The highest-scoring of ``finding_ids`` that has a sealed capture, with that capture."""
    if not finding_ids:
        return None
    query = (
        select(Finding.id, Finding.score, Capture.bundle_path)
        .join(Capture, Capture.finding_id == Finding.id)
        .where(Finding.id.in_(finding_ids), Capture.status.in_(PROOF))
        .order_by(Finding.score.desc(), Finding.id, Capture.started_at.desc(), Capture.id.desc())
        .limit(1)
    )
    with store.session() as session:
        row = session.execute(query).first()
    if row is None:
        return None
    finding_id, score, capture_dir = row
    return SealedFinding(finding_id=finding_id, score=score, capture_dir=capture_dir)

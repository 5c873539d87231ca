"""The findings join, written once: a finding with its candidate, platform and character.

:class:`FindingRow` is the typed value every layer above reads (the run report, the digest, the
command line); :func:`finding_rows` is the one query, filtered by purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from evidence.kinds import CandidateKind, Decision, FindingStatus
from evidence.models import Candidate, Character, Finding, Platform
from evidence.placement import ItemPlacement
from evidence.store import Store

NO_PLACEMENT: Mapping[str, None] = {
    "placement": None,
    "rank": None,
    "listing_url": None,
    "term": None,
}


@dataclass(frozen=True)
class FindingRow:
    """One finding as people read it: who it resembles, where, how strongly, and why."""

    id: int
    character: str
    platform: str
    kind: CandidateKind
    external_id: str
    score: float  # rounded to 4 places
    decision: Decision
    status: FindingStatus
    page_url: str
    title: str
    media_url: str | None
    creator: str | None
    reference: str | None
    reasons: tuple[dict[str, Any], ...]
    created_at: datetime
    placement: ItemPlacement | None = None  # where the platform showed it, as crawled

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "platform": self.platform,
            "kind": self.kind.value,
            "external_id": self.external_id,
            "character": self.character,
            "decision": self.decision.value,
            "score": self.score,
            "status": self.status.value,
            "page_url": self.page_url,
            "media_url": self.media_url,
            "title": self.title,
            "creator": self.creator,
            "reference": self.reference,
            "reasons": list(self.reasons),
            "created_at": self.created_at.isoformat(),
            **(self.placement.to_json() if self.placement else NO_PLACEMENT),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FindingRow:
        """The row :meth:`to_json` wrote (e.g. read back from a run report)."""
        return cls(
            id=int(data["id"]),
            character=str(data["character"]),
            platform=str(data["platform"]),
            kind=CandidateKind(data["kind"]),
            external_id=str(data["external_id"]),
            score=float(data["score"]),
            decision=Decision(data["decision"]),
            status=FindingStatus(data["status"]),
            page_url=str(data["page_url"]),
            title=str(data.get("title") or ""),
            media_url=data.get("media_url"),
            creator=data.get("creator"),
            reference=data.get("reference"),
            reasons=tuple(data.get("reasons") or ()),
            created_at=datetime.fromisoformat(str(data["created_at"])),
            placement=ItemPlacement.from_json(data),
        )


def _joined() -> Select[Finding, Candidate, str, str]:
    return (
        select(Finding, Candidate, Platform.name, Character.name)
        .join(Candidate, Finding.candidate_id == Candidate.id)
        .join(Platform, Candidate.platform_id == Platform.id)
        .join(Character, Finding.character_id == Character.id)
        .order_by(Finding.score.desc(), Finding.id)
    )


def finding_rows(
    store: Store,
    *,
    run_id: int | None = None,
    status: FindingStatus | None = None,
    character: str | None = None,
    platform: str | None = None,
    limit: int | None = None,
) -> list[FindingRow]:
    """Findings, highest score first: those a run created (``run_id``), or filtered for a
    listing by status, character and platform."""
    query = _joined()
    if run_id is not None:
        query = query.where(Finding.run_id == run_id)
    if status is not None:
        query = query.where(Finding.status == status)
    if character is not None:
        query = query.where(Character.name == character)
    if platform is not None:
        query = query.where(Platform.name == platform)
    if limit is not None:
        query = query.limit(limit)
    with store.session() as session:
        return [
            FindingRow(
                id=f.id,
                character=char,
                platform=plat,
                kind=c.kind,
                external_id=c.external_id,
                score=round(f.score, 4),
                decision=f.decision,
                status=f.status,
                page_url=c.page_url,
                title=c.title,
                media_url=c.media_url,
                creator=c.creator,
                reference=f.reference,
                reasons=tuple(f.reasons or ()),
                created_at=f.created_at,
                placement=ItemPlacement.from_raw(c.raw),
            )
            for f, c, plat, char in session.execute(query)
        ]

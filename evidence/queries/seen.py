"""What earlier crawls stored for a platform: the basis of incremental crawling."""

from __future__ import annotations

from sqlalchemy import select

from evidence.kinds import CandidateState
from evidence.models import Candidate, Platform
from evidence.store import Store


def stored_fingerprints(store: Store, platform: str) -> dict[tuple[str, str], str]:
    """``(kind, external id) -> content fingerprint`` of the candidates stored for
    ``platform`` (failed rows are not 'seen': the next crawl tries them again)."""
    with store.session() as session:
        rows = session.execute(
            select(Candidate.kind, Candidate.external_id, Candidate.raw["fingerprint"].as_string())
            .join(Platform, Candidate.platform_id == Platform.id)
            .where(
                Platform.name == platform,
                Candidate.state.in_((CandidateState.STORED, CandidateState.TAKEN_DOWN)),
            )
        )
        return {(k.value, str(e)): str(f or "") for k, e, f in rows}

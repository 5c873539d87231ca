"""A reviewer's decisions on a finding, each written to the custody log with their name.

Every decision is a ``decided`` event in the finding's hash-chained custody log
(evidence/ledger.py), in the same transaction as the status change, with the reviewer as actor.

The engine only proposes; a person confirms that a candidate *resembles* a character before any
notice is drafted. Allowed moves:

    new ──confirm──► confirmed ──(notice, by the evidence package)──► noticed …
     │  ◄──confirm── dismissed
     └──dismiss───► dismissed ◄──dismiss── confirmed

Findings already noticed, removed or persisting are past review and refuse both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from evidence import ledger
from evidence.custody import CustodyAction
from evidence.models import Finding, FindingStatus
from rightswatch.review import allowlist
from rightswatch.review.errors import DecisionRefused

MAX_REASON_LENGTH = 2000
REVIEWABLE = frozenset({FindingStatus.NEW, FindingStatus.CONFIRMED, FindingStatus.DISMISSED})


@dataclass(frozen=True)
class Outcome:
    finding_id: int
    status: FindingStatus
    message: str


def _finding(session: Session, finding_id: int) -> Finding:
    row = session.get(Finding, finding_id, with_for_update=True)
    if row is None:
        raise DecisionRefused(finding_id, "no such finding")
    if row.status not in REVIEWABLE:
        raise DecisionRefused(finding_id, f"already {row.status.value}; past review")
    return row


def _reason(finding_id: int, reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise DecisionRefused(finding_id, "a reason is required")
    if len(text) > MAX_REASON_LENGTH:
        raise DecisionRefused(finding_id, f"the reason exceeds {MAX_REASON_LENGTH} characters")
    return text or None


def confirm(
    session: Session, finding_id: int, *, reviewer: str, note: str | None = None
) -> Outcome:
    """A person agrees the candidate resembles the character."""
    row = _finding(session, finding_id)
    text = _reason(finding_id, note, required=False)
    previous = row.status
    row.status, row.status_reason, row.reviewer = FindingStatus.CONFIRMED, text, reviewer
    ledger.record(
        session,
        CustodyAction.DECIDED,
        actor=reviewer,
        finding_id=finding_id,
        details={
            "decision": "confirmed",
            "from": previous.value,
            "finding": f"resembles {row.character.name}",
            "note": text,
        },
    )
    return Outcome(finding_id, row.status, f"Confirmed: resembles {row.character.name}.")


def dismiss(session: Session, finding_id: int, *, reviewer: str, reason: str | None) -> Outcome:
    """A person judges the candidate not to resemble the character (a reason is required)."""
    row = _finding(session, finding_id)
    text = _reason(finding_id, reason, required=True)
    previous = row.status
    row.status, row.status_reason, row.reviewer = FindingStatus.DISMISSED, text, reviewer
    ledger.record(
        session,
        CustodyAction.DECIDED,
        actor=reviewer,
        finding_id=finding_id,
        details={"decision": "dismissed", "from": previous.value, "reason": text},
    )
    return Outcome(finding_id, row.status, "Dismissed.")


def allowlist_creator(
    session: Session, finding_id: int, *, reviewer: str, config_path: Path
) -> Outcome:
    """Add the finding's creator to its character's allowlist and dismiss the finding."""
    row = _finding(session, finding_id)
    creator = (row.candidate.creator or "").strip()
    if not creator:
        raise DecisionRefused(finding_id, "the platform names no creator to allowlist")
    character = row.character.name
    added = allowlist.add_creator(config_path, character, creator)
    previous = row.status
    reason = f"creator {creator!r} is on the allowlist of {character}"
    row.status, row.status_reason, row.reviewer = FindingStatus.DISMISSED, reason, reviewer
    ledger.record(
        session,
        CustodyAction.DECIDED,
        actor=reviewer,
        finding_id=finding_id,
        details={
            "decision": "allowlisted",
            "from": previous.value,
            "creator": creator,
            "character": character,
            "config": str(config_path),
            "already_listed": not added,
        },
    )
    verb = "Added" if added else "Already listed:"
    return Outcome(finding_id, row.status, f"{verb} {creator} on the allowlist of {character}.")

"""A reviewer's decisions on a finding, each written to the custody log with their name.

Every decision goes through the evidence package's lifecycle owner
(:func:`evidence.lifecycle.decide`): a ``decided`` event in the finding's hash-chained
custody log, in the same transaction as the status change, with the reviewer as actor. The
finding is read first to refuse a decision past review with a plain message; the lifecycle
checks the move again in its own transaction, so a change in between is refused too.

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
from typing import Any

from evidence.exceptions import DecisionError, NotFound
from evidence.kinds import FindingStatus
from evidence.lifecycle import MAX_REASON_LENGTH, REVIEWABLE, Cause, decide
from evidence.queries.review import Reviewable, reviewable
from evidence.store import Store
from rightswatch.review import allowlist
from rightswatch.review.errors import DecisionRefused

__all__ = ["MAX_REASON_LENGTH", "REVIEWABLE", "Outcome", "allowlist_creator", "confirm", "dismiss"]


@dataclass(frozen=True)
class Outcome:
    finding_id: int
    status: FindingStatus
    message: str


def _finding(store: Store, finding_id: int) -> Reviewable:
    row = reviewable(store, finding_id)
    if row is None:
        raise DecisionRefused(finding_id, "no such finding")
    if row.status not in REVIEWABLE:
        raise DecisionRefused(finding_id, f"already {row.status.value}; past review")
    return row


def _decide(
    store: Store,
    finding_id: int,
    target: FindingStatus,
    *,
    reviewer: str,
    reason: str | None,
    details: dict[str, Any],
) -> FindingStatus:
    """The lifecycle owner's status change; its refusals become :class:`DecisionRefused`."""
    try:
        change = decide(
            store, finding_id, target, cause=Cause.REVIEW, actor=reviewer, reason=reason,
            details=details,
        )  # fmt: skip
    except NotFound as exc:
        raise DecisionRefused(finding_id, "no such finding") from exc
    except DecisionError as exc:
        raise DecisionRefused(finding_id, str(exc).split(": ", 1)[-1]) from exc
    return change.status


def confirm(store: Store, finding_id: int, *, reviewer: str, note: str | None = None) -> Outcome:
    """A person agrees the candidate resembles the character."""
    row = _finding(store, finding_id)
    name = row.character
    status = _decide(
        store, finding_id, FindingStatus.CONFIRMED, reviewer=reviewer, reason=note,
        details={"decision": "confirmed", "finding": f"resembles {name}", "note": note},
    )  # fmt: skip
    return Outcome(finding_id, status, f"Confirmed: resembles {name}.")


def dismiss(store: Store, finding_id: int, *, reviewer: str, reason: str | None) -> Outcome:
    """A person judges the candidate not to resemble the character (a reason is required)."""
    _finding(store, finding_id)
    if not (reason or "").strip():
        raise DecisionRefused(finding_id, "a reason is required")
    status = _decide(
        store, finding_id, FindingStatus.DISMISSED, reviewer=reviewer, reason=reason,
        details={"decision": "dismissed"},
    )  # fmt: skip
    return Outcome(finding_id, status, "Dismissed.")


def allowlist_creator(
    store: Store, finding_id: int, *, reviewer: str, config_path: Path
) -> Outcome:
    """Add the finding's creator to its character's allowlist and dismiss the finding."""
    row = _finding(store, finding_id)
    creator = (row.creator or "").strip()
    if not creator:
        raise DecisionRefused(finding_id, "the platform names no creator to allowlist")
    character = row.character
    added = allowlist.add_creator(config_path, character, creator)
    reason = f"creator {creator!r} is on the allowlist of {character}"
    status = _decide(
        store, finding_id, FindingStatus.DISMISSED, reviewer=reviewer, reason=reason,
        details={
            "decision": "allowlisted",
            "creator": creator,
            "character": character,
            "config": str(config_path),
            "already_listed": not added,
        },
    )  # fmt: skip
    verb = "Added" if added else "Already listed:"
    return Outcome(finding_id, status, f"{verb} {creator} on the allowlist of {character}.")

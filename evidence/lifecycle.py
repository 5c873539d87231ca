"""A finding's life: the one transition table and the one function that changes a status.

Every status change goes through :func:`change_status`, in the caller's transaction, and
always writes one custody entry naming who made the change and why. The review app, the
``rightswatch findings confirm|dismiss`` command, notices and rechecks call it; nothing else
writes ``Finding.status`` (a test greps the product for it).

    cause    from                              to
    review   new, confirmed, dismissed         confirmed, dismissed
    notice   confirmed, noticed, persisting    noticed
    recheck  new, confirmed, noticed,          removed     (sealed proof the page is gone)
             persisting
    recheck  confirmed, noticed                persisting  (still online after the notice)

A person decides (review); a notice and a recheck follow from evidence. A dismissed finding is
never noticed or rechecked, and a removed one is final.

:func:`decide` and :func:`mark_persisting` are the store-level calls for callers that hold no
transaction of their own (the command line, the rechecks): each is one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from evidence import ledger
from evidence.custody import CustodyAction, CustodyEntry
from evidence.exceptions import DecisionError, NotFound
from evidence.models import Finding, FindingStatus

if TYPE_CHECKING:
    from evidence.store import Store

MAX_REASON_LENGTH = 2000


class Cause(StrEnum):
    """What drives a status change; each has its own custody action."""

    REVIEW = "review"
    NOTICE = "notice"
    RECHECK = "recheck"


S = FindingStatus
REVIEWABLE = frozenset({S.NEW, S.CONFIRMED, S.DISMISSED})
NOTICEABLE = frozenset({S.CONFIRMED, S.NOTICED, S.PERSISTING})

# (cause, from) -> the statuses it may move to
TRANSITIONS: Mapping[tuple[Cause, FindingStatus], frozenset[FindingStatus]] = {
    **{(Cause.REVIEW, s): frozenset({S.CONFIRMED, S.DISMISSED}) for s in REVIEWABLE},
    **{(Cause.NOTICE, s): frozenset({S.NOTICED}) for s in NOTICEABLE},
    **{(Cause.RECHECK, s): frozenset({S.REMOVED}) for s in (S.NEW, *NOTICEABLE)},
    (Cause.RECHECK, S.CONFIRMED): frozenset({S.REMOVED, S.PERSISTING}),
    (Cause.RECHECK, S.NOTICED): frozenset({S.REMOVED, S.PERSISTING}),
}

ACTION = {
    Cause.REVIEW: CustodyAction.DECIDED,
    Cause.NOTICE: CustodyAction.NOTICED,
    Cause.RECHECK: CustodyAction.RECHECKED,
}


@dataclass(frozen=True)
class StatusChange:
    """What :func:`change_status` did: the move and the custody entry that records it."""

    finding_id: int
    previous: FindingStatus
    status: FindingStatus
    entry: CustodyEntry


def allowed(cause: Cause, current: FindingStatus, target: FindingStatus) -> bool:
    """True when the table lets ``cause`` move a finding from ``current`` to ``target``."""
    return target in TRANSITIONS.get((cause, current), frozenset())


def change_status(
    session: Session,
    finding_id: int,
    target: FindingStatus,
    *,
    cause: Cause,
    actor: str,
    reason: str | None,
    details: Mapping[str, Any] | None = None,
) -> StatusChange:
    """Move one finding to ``target`` and write its custody entry (who, why, from, to).

    Raises :class:`NotFound` for an unknown id and :class:`DecisionError` (naming the finding,
    its status and the move) when the table does not allow the move, or when a review
    dismissal has no reason.
    """
    actor = actor.strip()
    if not actor:
        raise DecisionError(f"finding {finding_id}: a status change must name who makes it")
    text = (reason or "").strip() or None
    if text is not None and len(text) > MAX_REASON_LENGTH:
        raise DecisionError(
            f"finding {finding_id}: the reason exceeds {MAX_REASON_LENGTH} characters"
        )
    if cause is Cause.REVIEW and target is S.DISMISSED and text is None:
        raise DecisionError(f"finding {finding_id}: a dismissal needs a reason")
    finding = session.get(Finding, finding_id, with_for_update=True)
    if finding is None:
        raise NotFound("finding", finding_id)
    previous = finding.status
    if not allowed(cause, previous, target):
        raise DecisionError(
            f"finding {finding_id} is {previous.value}: {cause.value} may not make it "
            f"{target.value}"
        )
    finding.status = target
    finding.status_reason = text
    if cause is Cause.REVIEW:
        finding.reviewer = actor
    body = {**dict(details or {}), "from": previous.value, "to": target.value, "reason": text}
    entry = ledger.record(session, ACTION[cause], actor=actor, finding_id=finding_id, details=body)
    return StatusChange(finding_id, previous, target, entry)


def decide(
    store: Store,
    finding_id: int,
    target: FindingStatus,
    *,
    cause: Cause,
    actor: str,
    reason: str | None,
    details: Mapping[str, Any] | None = None,
) -> StatusChange:
    """:func:`change_status` in a transaction of its own (raises what it raises)."""
    with store.session() as session:
        return change_status(
            session, finding_id, target, cause=cause, actor=actor, reason=reason, details=details
        )


def mark_persisting(
    store: Store, finding_id: int, now: datetime, after: timedelta, actor: str
) -> bool:
    """Whether a noticed finding is still online ``after`` its first notice; if so, and the
    table allows it, it becomes ``persisting`` (a recheck's custody entry says how long)."""
    with store.session() as session:
        finding = session.get(Finding, finding_id)
        if finding is None or not finding.notices:
            return False
        first = min(n.created_at for n in finding.notices)
        if now - first < after:
            return False
        if allowed(Cause.RECHECK, finding.status, S.PERSISTING):
            change_status(
                session, finding_id, S.PERSISTING, cause=Cause.RECHECK, actor=actor,
                reason=f"still online {(now - first).days} days after the notice of "
                f"{first:%Y-%m-%d}",
            )  # fmt: skip
        return True

"""The custody log in the case file: one hash chain per finding (or per bare capture).

Rows of :class:`evidence.models.CustodyEvent` hold exactly the fields an entry's hash covers,
so any chain can be re-exported as ``custody.jsonl`` and re-verified outside the database.
``seq`` is global and increasing; ``prev_hash`` links to the previous entry of the same chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence.custody import CustodyAction, CustodyEntry, format_time, next_entry
from evidence.exceptions import CustodyError
from evidence.models import CustodyEvent


def subject_for(finding_id: int | None, capture_id: int | None) -> str:
    if finding_id is not None:
        return f"finding:{finding_id}"
    if capture_id is not None:
        return f"capture:{capture_id}"
    raise CustodyError("a custody event needs a finding or a capture")


def _chain_query(finding_id: int | None, capture_id: int | None) -> Any:
    query = select(CustodyEvent).order_by(CustodyEvent.seq)
    if finding_id is not None:
        return query.where(CustodyEvent.finding_id == finding_id)
    return query.where(CustodyEvent.finding_id.is_(None), CustodyEvent.capture_id == capture_id)


def to_entry(row: CustodyEvent) -> CustodyEntry:
    """Rebuild the chain entry from its row."""
    return CustodyEntry(
        seq=row.seq,
        at=format_time(row.at),
        action=CustodyAction(row.event),
        actor=row.actor,
        subject=subject_for(row.finding_id, row.capture_id),
        prev=row.prev_hash,
        details=dict(row.details or {}),
        hash=row.entry_hash,
    )


def chain(
    session: Session, *, finding_id: int | None = None, capture_id: int | None = None
) -> list[CustodyEntry]:
    """Every entry of one chain, oldest first."""
    subject_for(finding_id, capture_id)
    rows = session.scalars(_chain_query(finding_id, capture_id)).all()
    return [to_entry(r) for r in rows]


def record(
    session: Session,
    action: CustodyAction,
    *,
    actor: str,
    finding_id: int | None = None,
    capture_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> CustodyEntry:
    """Append one event to its chain (in the caller's transaction) and return the entry."""
    subject = subject_for(finding_id, capture_id)
    query = _chain_query(finding_id, capture_id).order_by(None).order_by(CustodyEvent.seq.desc())
    last_row = session.scalars(query.limit(1)).first()
    previous = to_entry(last_row) if last_row is not None else None
    top = session.scalar(select(func.max(CustodyEvent.seq)))
    moment = datetime.now(UTC)
    entry = next_entry(
        previous,
        action,
        actor=actor,
        subject=subject,
        details=_jsonable(details or {}),
        at=moment,
        seq=0 if top is None else top + 1,
    )
    session.add(
        CustodyEvent(
            seq=entry.seq,
            at=moment,
            event=action.value,
            actor=actor,
            finding_id=finding_id,
            capture_id=capture_id,
            details=dict(entry.details),
            prev_hash=entry.prev,
            entry_hash=entry.hash,
        )
    )
    session.flush()
    return entry


def _jsonable(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as they will read back from a JSON column (so the hash stays reproducible)."""
    value: dict[str, Any] = json.loads(json.dumps(dict(details), default=str))
    return value

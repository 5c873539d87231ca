"""Writes the reviewer's decisions into the case file's hash-chained custody log.

The chain format is the evidence package's (evidence/custody.py, evidence/ledger.py): one chain
per finding, ``seq`` global and increasing, the first entry's ``prev`` the SHA-256 of
``b"rightswatch custody chain v1"``, each ``entry_hash`` the SHA-256 of the compact, key-sorted
JSON of ``{seq, at, action, actor, subject, prev, details}`` with ``at`` in
``%Y-%m-%dT%H:%M:%S.%fZ`` and ``subject`` ``finding:<id>``. Rows written here therefore
re-verify with the evidence verifier and chain with rows the evidence package writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence.models import CustodyEvent

GENESIS = hashlib.sha256(b"rightswatch custody chain v1").hexdigest()


class Action(StrEnum):
    """The custody actions the dashboard records (a subset of evidence's CustodyAction)."""

    DECIDED = "decided"
    EXPORTED = "exported"
    NOTICED = "noticed"
    CAPTURED = "captured"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(body: Mapping[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def record(
    session: Session,
    action: Action,
    *,
    actor: str,
    finding_id: int,
    details: Mapping[str, Any] | None = None,
) -> CustodyEvent:
    """Append one event to the finding's chain, in the caller's transaction."""
    last = session.scalar(
        select(CustodyEvent)
        .where(CustodyEvent.finding_id == finding_id)
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    top = session.scalar(select(func.max(CustodyEvent.seq)))
    moment = datetime.now(UTC)
    clean: dict[str, Any] = json.loads(json.dumps(dict(details or {}), default=str))
    body = {
        "seq": 0 if top is None else top + 1,
        "at": format_time(moment),
        "action": action.value,
        "actor": actor,
        "subject": f"finding:{finding_id}",
        "prev": GENESIS if last is None else last.entry_hash,
        "details": clean,
    }
    row = CustodyEvent(
        seq=body["seq"],
        at=moment,
        event=action.value,
        actor=actor,
        finding_id=finding_id,
        details=clean,
        prev_hash=body["prev"],
        entry_hash=entry_hash(body),
    )
    session.add(row)
    session.flush()
    return row


def chain_intact(session: Session, finding_id: int) -> bool:
    """True when every entry of the finding's chain re-hashes and links to the one before."""
    prev = GENESIS
    rows = session.scalars(
        select(CustodyEvent).where(CustodyEvent.finding_id == finding_id).order_by(CustodyEvent.seq)
    )
    for row in rows:
        body = {
            "seq": row.seq,
            "at": format_time(row.at),
            "action": row.event,
            "actor": row.actor,
            "subject": f"finding:{finding_id}",
            "prev": row.prev_hash,
            "details": dict(row.details),
        }
        if row.prev_hash != prev or entry_hash(body) != row.entry_hash:
            return False
        prev = row.entry_hash
    return True

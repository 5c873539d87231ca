"""Capture slots: the capture row holding an idempotency key, settled for a new try.

Distributed capture tasks (``rightswatch/distributed/captures.py``) key each capture by
finding and time slot; this is the case-file side: find the row holding the key, return it when
it is final, or free the key from a try that died or failed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from evidence.kinds import CaptureStatus
from evidence.models import Capture
from evidence.store import Store

FINAL = (CaptureStatus.SEALED, CaptureStatus.REMOVED)


def settle_slot(store: Store, key: str) -> Capture | None:
    """The final capture holding ``key``, or None after freeing the key from a dead
    or failed try (the key is kept in that row's ``meta``)."""
    with store.session() as session:
        row = session.scalar(
            select(Capture).where(Capture.idempotency_key == key).with_for_update()
        )
        if row is None:
            return None
        if row.status in FINAL:
            return row  # its columns stay readable: the store does not expire on commit
        if row.status is CaptureStatus.PENDING:
            row.status = CaptureStatus.FAILED
            row.error = "abandoned: the worker capturing it stopped before recording a result"
            row.finished_at = datetime.now(UTC)
        row.meta = {**(row.meta or {}), "released_key": key}
        row.idempotency_key = None
        return None

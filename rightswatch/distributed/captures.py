"""One sealed capture per finding and time slot, however many workers try.

A capture task carries a finding id and a slot (by default the UTC hour, e.g.
``2026-12-01T00``). Its idempotency key ``finding:<id>:slot:<slot>`` is stored on the capture
row, where a unique index (migration 0003) makes a second row with the same key impossible.
While capturing, the worker holds the case-file lease ``capture:<key>``, so two deliveries of
the same task never run the browser at once; a worker that dies lets the lease expire and the
redelivered task takes over:

- a sealed (or sealed "removed") capture with the key is the answer: nothing is captured again;
- a pending row with the key was left by a worker that died mid-capture, and a failed row is a
  try that did not work: either gives up the key (it is kept in the row's ``meta``) and a new
  capture takes it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from evidence import lease
from evidence.capture import CaptureOptions, CaptureOutcome, CaptureResult
from evidence.capture.options import FailureReason
from evidence.casefile import capture_findings
from evidence.models import Capture, CaptureStatus
from evidence.paths import resolve_stored
from evidence.settings import EvidenceSettings
from evidence.store import Store

LEASE_TTL = timedelta(minutes=2)
FINAL = (CaptureStatus.SEALED, CaptureStatus.REMOVED)


def hour_slot(at: datetime | None = None) -> str:
    """The default time slot: the UTC hour, ``YYYY-MM-DDTHH``."""
    return (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H")


def slot_key(finding_id: int, slot: str) -> str:
    return f"finding:{finding_id}:slot:{slot}"


def result_from_row(row: Capture, root: Path) -> CaptureResult:
    """The :class:`CaptureResult` a recorded capture row stands for (``root``: the evidence
    folder its stored path is relative to)."""
    meta = row.meta or {}
    reason = meta.get("reason")
    return CaptureResult(
        capture_id=str(meta.get("capture_id") or ""),
        url=row.url,
        outcome=CaptureOutcome(meta.get("outcome") or row.status.value),
        directory=resolve_stored(row.bundle_path, root) if row.bundle_path else None,
        final_url=str(meta.get("final_url") or ""),
        status=row.http_status,
        reason=FailureReason(reason) if reason else None,
        message=row.error or "",
        manifest_sha256=row.manifest_sha256 or "",
        seal=dict(meta.get("seal") or {}),
        stages=dict(meta.get("stages") or {}),
    )


def result_to_json(result: CaptureResult) -> dict[str, Any]:
    return {
        "capture_id": result.capture_id,
        "url": result.url,
        "outcome": result.outcome.value,
        "directory": str(result.directory) if result.directory else None,
        "final_url": result.final_url,
        "status": result.status,
        "reason": result.reason.value if result.reason else None,
        "message": result.message,
        "manifest_sha256": result.manifest_sha256,
        "seal": dict(result.seal),
        "stages": dict(result.stages),
    }


def result_from_json(data: dict[str, Any]) -> CaptureResult:
    return CaptureResult(
        capture_id=str(data["capture_id"]),
        url=str(data["url"]),
        outcome=CaptureOutcome(data["outcome"]),
        directory=Path(data["directory"]) if data.get("directory") else None,
        final_url=str(data.get("final_url") or ""),
        status=data.get("status"),
        reason=FailureReason(data["reason"]) if data.get("reason") else None,
        message=str(data.get("message") or ""),
        manifest_sha256=str(data.get("manifest_sha256") or ""),
        seal=dict(data.get("seal") or {}),
        stages=dict(data.get("stages") or {}),
    )


def _settle_slot(store: Store, key: str, root: Path) -> CaptureResult | None:
    """The final capture holding ``key``, or None after freeing the key from a dead try."""
    with store.session() as session:
        row = session.scalar(
            select(Capture).where(Capture.idempotency_key == key).with_for_update()
        )
        if row is None:
            return None
        if row.status in FINAL:
            return result_from_row(row, root)
        if row.status is CaptureStatus.PENDING:
            row.status = CaptureStatus.FAILED
            row.error = "abandoned: the worker capturing it stopped before recording a result"
            row.finished_at = datetime.now(UTC)
        row.meta = {**(row.meta or {}), "released_key": key}
        row.idempotency_key = None
        return None


def capture_in_slot(
    store: Store,
    finding_id: int,
    slot: str,
    settings: EvidenceSettings,
    options: CaptureOptions | None = None,
) -> CaptureResult:
    """Capture ``finding_id`` unless it already has a final capture in ``slot``.

    Raises :class:`evidence.exceptions.LeaseHeld` while another worker is capturing the same
    slot (the task is retried later and then finds that worker's capture).
    """
    key = slot_key(finding_id, slot)
    with lease.hold(store, f"capture:{key}", ttl=LEASE_TTL):
        done = _settle_slot(store, key, settings.folder)
        if done is not None:
            return done
        return capture_findings(store, [finding_id], settings, options, keys={finding_id: key})[0]

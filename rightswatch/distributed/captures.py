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

from evidence import lease
from evidence.capture import CaptureOptions, CaptureOutcome, CaptureResult
from evidence.capture.options import FailureReason
from evidence.casefile import capture_findings
from evidence.models import Capture
from evidence.paths import resolve_stored
from evidence.queries.slots import settle_slot
from evidence.settings import EvidenceSettings
from evidence.store import Store

LEASE_TTL = timedelta(minutes=2)


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
        done = settle_slot(store, key)
        if done is not None:
            return result_from_row(done, settings.folder)
        return capture_findings(store, [finding_id], settings, options, keys={finding_id: key})[0]

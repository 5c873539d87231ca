"""Rechecks: re-capture confirmed or noticed findings to prove presence after notice, or removal.

A page that is gone gets a sealed "removed" capture and the finding becomes ``removed`` (the
evidence package records both). One still online ``persisting_after_days`` after the first
notice becomes ``persisting``, with the fresh sealed capture as proof. Per-platform response
times (notice to sealed removal) are reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evidence.casefile import anchor_run, capture_findings
from evidence.kinds import CaptureStatus, FindingStatus
from evidence.lease import hold
from evidence.lifecycle import mark_persisting
from evidence.queries.rechecks import findings_due, response_times
from evidence.store import Store
from rightswatch.config import load_config
from rightswatch.evidence_settings import evidence_settings

log = logging.getLogger("rightswatch.recheck")

Say = Callable[[str], None]


def lease_name(client: str) -> str:
    """One lease per client configuration: its runs and rechecks never overlap."""
    return f"rightswatch:{client}"


RECHECKED_STATUSES = (FindingStatus.CONFIRMED, FindingStatus.NOTICED, FindingStatus.PERSISTING)


@dataclass
class RecheckSummary:
    checked: int = 0
    present: int = 0
    removed: list[int] = field(default_factory=list)
    persisting: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # platform -> notice-to-removal times in hours
    response_hours: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_rechecks(
    config_file: Path, store: Store, *, now: datetime | None = None, say: Say = log.info
) -> RecheckSummary:
    """Re-capture due findings: removal is sealed as proof; presence long after notice is
    marked persisting."""
    config_file = config_file.resolve()
    config = load_config(config_file)
    settings = evidence_settings(config)
    now = now or datetime.now(UTC)
    summary = RecheckSummary()
    with hold(store, lease_name(config.client.name)):
        interval = timedelta(days=config.recheck.interval_days)
        ids = findings_due(store, RECHECKED_STATUSES, interval, now)
        say(f"rechecking {len(ids)} finding(s)")
        results = capture_findings(store, ids, settings) if ids else []
        persist_after = timedelta(days=config.recheck.persisting_after_days)
        for finding_id, result in zip(ids, results, strict=True):
            summary.checked += 1
            if not result.sealed:
                summary.failed.append(f"finding {finding_id}: {result.message}")
            elif result.outcome.value == CaptureStatus.REMOVED.value:
                summary.removed.append(finding_id)
            else:
                summary.present += 1
                if mark_persisting(store, finding_id, now, persist_after, settings.operator):
                    summary.persisting.append(finding_id)
        if ids:  # the custody heads of the rechecked findings, timestamped
            summary.failed += anchor_run(store, ids, settings)
        summary.response_hours = response_times(store)
    return summary

"""A run summary is a typed value; its report JSON reads back into the same value."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from evidence.kinds import CandidateKind, Decision, FindingStatus, RunStatus
from evidence.queries.findings import FindingRow
from rightswatch.runsummary import RunSummary, TopFinding


def _row(id: int, decision: Decision) -> FindingRow:
    return FindingRow(
        id=id,
        character="Pipera",
        platform="civitai",
        kind=CandidateKind.IMAGE,
        external_id=str(100 + id),
        score=0.91,
        decision=decision,
        status=FindingStatus.NEW,
        page_url=f"https://civitai.com/images/{100 + id}",
        title="a look-alike",
        media_url=None,
        creator="someone",
        reference="ref-1.png",
        reasons=({"kind": "pdq", "value": 12},),
        created_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )


def test_report_json_round_trips() -> None:
    summary = RunSummary(
        run_id=7,
        status=RunStatus.PARTIAL,
        started_at="2026-12-01T09:00:00+00:00",
        finished_at="2026-12-01T09:05:00+00:00",
        seconds=300.0,
        new_findings=(_row(1, Decision.FLAG), _row(2, Decision.REVIEW), _row(3, Decision.IGNORE)),
        captures_sealed=1,
        failures=["civitai: https://civitai.com/x: HTTP 404"],
        top_finding=TopFinding(1, 0.91, "captures/c1", "file:///b.zip", "ab" * 32, ("r.pdf",)),
        report_json="runs/run-7.json",
    )
    data = json.loads(json.dumps(summary.to_json()))
    assert data["by_character_platform"] == {"Pipera on civitai": 2}
    assert data["review_waiting"] == 1
    assert RunSummary.from_json(data) == summary

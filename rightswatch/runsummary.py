"""What one monitoring run did: the value the monitor builds and the run report prints.

The monitor (``rightswatch/monitor.py``) builds a :class:`RunSummary`; the run report and the
digest (``rightswatch/runreport.py``) read it. Both import it from here, so neither imports
the other. New findings are :class:`evidence.queries.findings.FindingRow` values, the exported
top finding a :class:`TopFinding`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from evidence.kinds import Decision, RunStatus
from evidence.queries.findings import FindingRow


@dataclass(frozen=True)
class TopFinding:
    """The run's highest-scoring sealed finding and its exported case bundle."""

    finding_id: int
    score: float
    capture: str | None  # the sealed capture's folder
    bundle: str | None = None  # the bundle's URI; None when the export failed
    bundle_sha256: str | None = None
    reports: tuple[str, ...] = ()  # the court report (PDF, HTML) copied beside the bundle

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "reports": list(self.reports)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TopFinding:
        return cls(
            finding_id=int(data["finding_id"]),
            score=float(data["score"]),
            capture=data.get("capture"),
            bundle=data.get("bundle"),
            bundle_sha256=data.get("bundle_sha256"),
            reports=tuple(data.get("reports") or ()),
        )


def by_character_platform(rows: Sequence[FindingRow]) -> dict[str, int]:
    """How many findings (ignored ones aside) per "character on platform"."""
    return dict(
        Counter(f"{r.character} on {r.platform}" for r in rows if r.decision != Decision.IGNORE)
    )


@dataclass
class RunSummary:
    """What one monitoring run did, for people and for the run report."""

    run_id: int
    status: RunStatus
    started_at: str
    finished_at: str
    seconds: float
    new_findings: tuple[FindingRow, ...] = ()
    captures_sealed: int = 0
    captures_failed: int = 0
    failures: list[str] = field(default_factory=list)
    crawl: Mapping[str, Any] = field(default_factory=dict)
    top_finding: TopFinding | None = None
    report_json: str | None = None
    report_markdown: str | None = None
    notifications_failed: list[str] = field(default_factory=list)

    @property
    def by_character_platform(self) -> dict[str, int]:
        return by_character_platform(self.new_findings)

    @property
    def review_waiting(self) -> int:
        return sum(1 for f in self.new_findings if f.decision is Decision.REVIEW)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "new_findings": [f.to_json() for f in self.new_findings],
            "by_character_platform": self.by_character_platform,
            "review_waiting": self.review_waiting,
            "captures_sealed": self.captures_sealed,
            "captures_failed": self.captures_failed,
            "failures": list(self.failures),
            "crawl": dict(self.crawl),
            "top_finding": self.top_finding.to_json() if self.top_finding else None,
            "report_json": self.report_json,
            "report_markdown": self.report_markdown,
            "notifications_failed": list(self.notifications_failed),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSummary:
        """A run report's JSON read back (the counts derived from the findings are recomputed)."""
        top = data.get("top_finding")
        return cls(
            run_id=int(data["run_id"]),
            status=RunStatus(data["status"]),
            started_at=str(data["started_at"]),
            finished_at=str(data["finished_at"]),
            seconds=float(data["seconds"]),
            new_findings=tuple(FindingRow.from_json(f) for f in data.get("new_findings") or ()),
            captures_sealed=int(data.get("captures_sealed") or 0),
            captures_failed=int(data.get("captures_failed") or 0),
            failures=[str(f) for f in data.get("failures") or ()],
            crawl=dict(data.get("crawl") or {}),
            top_finding=TopFinding.from_json(top) if top else None,
            report_json=data.get("report_json"),
            report_markdown=data.get("report_markdown"),
            notifications_failed=[str(f) for f in data.get("notifications_failed") or ()],
        )

"""The run report (JSON and Markdown beside the evidence) and the digest sent to people.

Both read the :class:`~rightswatch.runsummary.RunSummary` the monitor hands over as a value.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace
from pathlib import Path

from evidence.kinds import Decision
from rightswatch.config import WatchConfig
from rightswatch.notify import Digest, DigestFinding
from rightswatch.runsummary import RunSummary


def _runs_dir(config: WatchConfig) -> Path:
    return config.resolve(config.evidence.folder) / "runs"


def write_reports(config: WatchConfig, summary: RunSummary) -> RunSummary:
    """Write the run report (Markdown and JSON); the summary with their paths."""
    folder = _runs_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"run-{summary.run_id}"
    summary = replace(
        summary,
        report_json=str(base.with_suffix(".json")),
        report_markdown=str(base.with_suffix(".md")),
    )
    _atomic_write(base.with_suffix(".md"), run_markdown(config, summary))
    _atomic_write(
        base.with_suffix(".json"),
        json.dumps(summary.to_json(), ensure_ascii=False, indent=2, default=str),
    )
    return summary


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run_markdown(config: WatchConfig, s: RunSummary) -> str:
    """The run report for people: what was found, what was sealed, what failed."""
    lines = [
        f"# Monitoring run {s.run_id}: {config.client.name}",
        "",
        f"- Matter: {config.client.matter or '-'}",
        f"- Status: {s.status}",
        f"- Time: {s.started_at} to {s.finished_at} ({s.seconds} s), host {socket.gethostname()}",
        f"- New findings: {len(s.new_findings)} ({s.review_waiting} wait for a person's review)",
        f"- Evidence captures sealed: {s.captures_sealed}, failed: {s.captures_failed}",
        "",
        "Findings record measured resemblance; a person confirms each before any notice.",
        "",
    ]
    if s.by_character_platform:
        lines += ["## New findings by character and platform", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(s.by_character_platform.items())]
        lines.append("")
    if s.new_findings:
        lines += ["## New findings", "", "| id | score | decision | character | platform | page |"]
        lines.append("|---|---|---|---|---|---|")
        for f in s.new_findings:
            lines.append(
                f"| {f.id} | {f.score:.2f} | {f.decision.value} | {f.character} | "
                f"{f.platform} | {f.page_url} |"
            )
        lines.append("")
    if s.top_finding:
        lines += ["## Top finding's evidence", "", f"- Finding: {s.top_finding.finding_id}"]
        lines.append(f"- Sealed capture: {s.top_finding.capture}")
        lines.append(f"- Bundle: {s.top_finding.bundle or 'export failed'}")
        lines.append("")
    if s.failures:
        lines += ["## Failures", ""] + [f"- {x}" for x in s.failures] + [""]
    return "\n".join(lines)


def digest_of(config: WatchConfig, s: RunSummary) -> Digest:
    top = s.top_finding
    return Digest(
        run_id=s.run_id,
        client=config.client.name,
        started_at=s.started_at,
        finished_at=s.finished_at,
        status=s.status.value,
        new_findings=[
            DigestFinding(
                id=f.id,
                character=f.character,
                platform=f.platform,
                kind=f.kind.value,
                score=f.score,
                decision=f.decision.value,
                page_url=f.page_url,
                bundle=top.bundle if top is not None and top.finding_id == f.id else None,
                report=s.report_markdown,
            )
            for f in s.new_findings
            if f.decision is not Decision.IGNORE
        ],
        captures=s.captures_sealed,
        failures=s.failures,
        counts=s.by_character_platform,
    )

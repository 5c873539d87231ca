"""The run report (JSON and Markdown beside the evidence) and the digest sent to people.

Both pass through ``evidence.redact``: a password or token in any URL a failure quotes is
masked before it is written or sent.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence.folders import private_folder
from evidence.models import Decision
from evidence.redact import redact_mapping, redact_text
from rightswatch.config import WatchConfig
from rightswatch.notify import Digest, DigestFinding

if TYPE_CHECKING:
    from rightswatch.monitor import RunSummary


def _runs_dir(config: WatchConfig) -> Path:
    return config.resolve(config.evidence.folder) / "runs"


def write_reports(config: WatchConfig, summary: RunSummary) -> None:
    private_folder(config.resolve(config.evidence.folder))
    folder = private_folder(_runs_dir(config))
    base = folder / f"run-{summary.run_id}"
    summary.report_json = str(base.with_suffix(".json"))
    summary.report_markdown = str(base.with_suffix(".md"))
    _atomic_write(base.with_suffix(".md"), redact_text(run_markdown(config, summary)))
    _atomic_write(
        base.with_suffix(".json"),
        json.dumps(redact_mapping(summary.to_json()), ensure_ascii=False, indent=2, default=str),
    )


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
                f"| {f['id']} | {f['score']:.2f} | {f['decision']} | {f['character']} | "
                f"{f['platform']} | {f['page_url']} |"
            )
        lines.append("")
    if s.top_finding:
        lines += ["## Top finding's evidence", "", f"- Finding: {s.top_finding['finding_id']}"]
        lines.append(f"- Sealed capture: {s.top_finding['capture']}")
        lines.append(f"- Bundle: {s.top_finding.get('bundle') or 'export failed'}")
        lines.append("")
    lines += crawl_policy_lines(s.crawl)
    if s.failures:
        lines += ["## Failures", ""] + [f"- {x}" for x in s.failures] + [""]
    return "\n".join(lines)


def crawl_policy_lines(crawl: dict[str, Any]) -> list[str]:
    """Per platform: what could not be seen and why, the robots.txt/API-terms decision per
    host (with the robots.txt digest), and every host pause or slow-down."""
    lines: list[str] = []
    for name, platform in sorted((crawl.get("platforms") or {}).items()):
        notes = [f"- {n}" for n in platform.get("notes") or []]
        if platform.get("error"):
            notes.insert(0, f"- **not crawled**: {platform['error']}")
        for d in platform.get("robots") or []:
            read = ""
            if d.get("status") is not None:
                digest = f", sha256 {d['sha256'][:16]}…" if d.get("sha256") else ""
                read = f" ({d['robots_url']} HTTP {d['status']}{digest})"
            notes.append(
                f"- {d['host']}: API requests follow {d['api_access']}, pages {d['pages']} "
                f"robots.txt; robots.txt{read}: {d['rules']}"
            )
        for w in platform.get("waits") or []:
            what = "paused" if w["kind"] == "pause" else "slowed to one request per"
            notes.append(f"- {w['host']} {what} {w['seconds']} s ({w['reason']})")
        if notes:
            lines += [f"## Crawl of {name}: visibility, robots.txt and waits", "", *notes, ""]
    return lines


def digest_of(config: WatchConfig, s: RunSummary) -> Digest:
    top = s.top_finding or {}
    return Digest(
        run_id=s.run_id,
        client=config.client.name,
        started_at=s.started_at,
        finished_at=s.finished_at,
        status=s.status,
        new_findings=[
            DigestFinding(
                id=f["id"],
                character=f["character"],
                platform=f["platform"],
                kind=f["kind"],
                score=f["score"],
                decision=f["decision"],
                page_url=f["page_url"],
                bundle=top.get("bundle") if top.get("finding_id") == f["id"] else None,
                report=s.report_markdown,
            )
            for f in s.new_findings
            if f["decision"] != Decision.IGNORE.value
        ],
        captures=s.captures_sealed,
        failures=[redact_text(f) for f in s.failures],
        counts=s.by_character_platform,
    )

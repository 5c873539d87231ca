"""One monitoring run end to end, and the rechecks that follow notices.

A run, under the configuration's lease (so two runs of one configuration never overlap, even
across machines sharing the case file):

1. mark runs of this configuration that a crashed process left "running" as failed;
2. sync the reference library from watch.toml;
3. crawl the configured platforms in a child process (findings are judged and recorded there);
4. capture and seal evidence for new findings at or above the capture threshold (findings in
   the review band wait for a person), and export the top finding's bundle;
5. notify (webhook, e-mail) and write a run report (JSON and Markdown).

Re-running with nothing new adds nothing: candidates are keyed by platform and id, and a finding
with a sealed capture is not captured again by a monitoring run (rechecks do that, on their own
interval).
"""

from __future__ import annotations

import logging
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select

import scheduler
from crawler.run import CrawlReport, Progress, run_crawl
from evidence.bundle import export_bundle
from evidence.capture import CaptureResult
from evidence.casefile import anchor_run, capture_findings
from evidence.exceptions import EvidenceError
from evidence.lease import hold
from evidence.models import (
    Candidate,
    Capture,
    CaptureStatus,
    Character,
    CrawlRun,
    Decision,
    Finding,
    FindingStatus,
    Platform,
    RunStatus,
)
from evidence.settings import EvidenceSettings
from evidence.store import Store, resolve_url
from rightswatch import distributed
from rightswatch.config import WatchConfig, load_config
from rightswatch.crawling import plan_from_config
from rightswatch.evidence_settings import evidence_settings
from rightswatch.library import sync_config
from rightswatch.notify import channels, send_digest
from rightswatch.recheck import lease_name, run_rechecks
from rightswatch.runreport import digest_of, write_reports

log = logging.getLogger("rightswatch.monitor")

Say = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    platforms: tuple[str, ...] = ()
    full: bool = False
    max_items: int | None = None
    capture: bool = True
    max_captures: int | None = None  # overrides evidence.max_captures_per_run
    notify: bool = True
    crawl_timeout_s: float | None = None


@dataclass
class RunSummary:
    """What one monitoring run did, for people and for the run report."""

    run_id: int
    status: str
    started_at: str
    finished_at: str
    seconds: float
    new_findings: list[dict[str, Any]] = field(default_factory=list)
    by_character_platform: dict[str, int] = field(default_factory=dict)
    review_waiting: int = 0
    captures_sealed: int = 0
    captures_failed: int = 0
    failures: list[str] = field(default_factory=list)
    crawl: dict[str, Any] = field(default_factory=dict)
    top_finding: dict[str, Any] | None = None
    report_json: str | None = None
    report_markdown: str | None = None
    notifications_failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def reap_crashed_runs(store: Store, config_file: Path) -> list[int]:
    """Mark as failed the runs of ``config_file`` still "running" from a process that died.

    Called under the configuration's lease, so no live process can still own them.
    """
    reaped: list[int] = []
    with store.session() as session:
        rows = session.scalars(
            select(CrawlRun).where(
                CrawlRun.status == RunStatus.RUNNING, CrawlRun.config_path == str(config_file)
            )
        ).all()
        for run in rows:
            run.status = RunStatus.FAILED
            run.finished_at = datetime.now(UTC)
            run.error = (
                f"the process running it (host {run.host}, pid {run.pid}) ended without "
                "finishing; marked failed when the next run started"
            )
            reaped.append(run.id)
    return reaped


def _new_findings(store: Store, run_id: int) -> list[dict[str, Any]]:
    query = (
        select(Finding, Candidate, Platform.name, Character.name)
        .join(Candidate, Finding.candidate_id == Candidate.id)
        .join(Platform, Candidate.platform_id == Platform.id)
        .join(Character, Finding.character_id == Character.id)
        .where(Finding.run_id == run_id)
        .order_by(Finding.score.desc(), Finding.id)
    )
    with store.session() as session:
        return [
            {
                "id": f.id,
                "character": char,
                "platform": plat,
                "kind": c.kind.value,
                "external_id": c.external_id,
                "score": round(f.score, 4),
                "decision": f.decision.value,
                "page_url": c.page_url,
                "title": c.title,
            }
            for f, c, plat, char in session.execute(query)
        ]


def findings_to_capture(store: Store, threshold: float, limit: int) -> list[int]:
    """New, flagged findings at or above ``threshold`` that have no sealed capture yet."""
    sealed = exists().where(
        Capture.finding_id == Finding.id,
        Capture.status.in_((CaptureStatus.SEALED, CaptureStatus.REMOVED)),
    )
    query = (
        select(Finding.id)
        .where(
            Finding.status == FindingStatus.NEW,
            Finding.decision == Decision.FLAG,
            Finding.score >= threshold,
            ~sealed,
        )
        .order_by(Finding.score.desc(), Finding.id)
        .limit(limit)
    )
    with store.session() as session:
        return list(session.scalars(query))


def _crawl(
    config: WatchConfig,
    store: Store,
    config_file: Path,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None,
) -> CrawlReport:
    """Crawl in a local child process, or on the workers when distributed mode is on."""
    plan = plan_from_config(
        config,
        store.url,
        platforms=options.platforms,
        full=options.full,
        max_items=options.max_items,
    )
    crawl = distributed.run_distributed_crawl if distributed.enabled() else run_crawl
    return crawl(
        plan,
        on_progress=on_progress,
        timeout_s=options.crawl_timeout_s,
        config_path=str(config_file),
    )


def _capture(
    store: Store, settings: EvidenceSettings, ids: Sequence[int], say: Say
) -> list[CaptureResult]:
    if not ids:
        return []
    if distributed.enabled():
        say(f"capturing and sealing evidence for {len(ids)} finding(s) on the workers")
        return distributed.run_distributed_captures(store, ids)
    say(f"capturing and sealing evidence for {len(ids)} finding(s)")
    return capture_findings(store, ids, settings)


def run_monitoring(
    config_file: Path,
    store: Store,
    options: RunOptions = RunOptions(),
    *,
    say: Say = log.info,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunSummary:
    """One monitoring run of the configuration at ``config_file``; see the module docstring."""
    config_file = config_file.resolve()
    config = load_config(config_file)
    started = datetime.now(UTC)
    with hold(store, lease_name(config.client.name)) as lease:
        for run_id in reap_crashed_runs(store, config_file):
            say(f"run {run_id} had crashed; marked failed")
        synced = sync_config(store, config)
        say(
            f"reference library: {len(synced.references.added)} added, "
            f"{len(synced.references.duplicates)} unchanged, "
            f"{len(synced.references.errors)} skipped"
        )
        failures = [str(e) for e in synced.references.errors]
        say(f"crawling {', '.join(options.platforms) or 'all enabled platforms'}")
        report = _crawl(config, store, config_file, options, on_progress)
        if report.error:
            failures.append(f"crawl: {report.error}")
        for platform in report.platforms:
            if platform.error:
                failures.append(f"{platform.name}: {platform.error}")
            failures += [
                f"{platform.name}: {f.get('url') or f.get('external_id') or '?'}: "
                f"{f.get('reason') or f.get('status') or 'failed'}"
                for f in platform.failures
            ]
        new = _new_findings(store, report.run_id)
        interrupted = scheduler.stop_requested() or lease.lost.is_set()
        results: list[CaptureResult] = []
        settings = evidence_settings(config)
        if options.capture and not interrupted:
            limit = options.max_captures
            if limit is None:
                limit = config.evidence.max_captures_per_run
            ids = findings_to_capture(store, config.thresholds.capture, limit)
            results = _capture(store, settings, ids, say)
            if ids:  # the custody heads of this run's findings, timestamped
                failures += anchor_run(store, ids, settings)
        failures += [f"capture {r.url}: {r.message}" for r in results if not r.sealed]
        top = _export_top(store, settings, results, say, failures)
        status = _final_status(report, interrupted, store)
        finished = datetime.now(UTC)
        summary = RunSummary(
            run_id=report.run_id,
            status=status.value,
            started_at=started.isoformat(),
            finished_at=finished.isoformat(),
            seconds=round((finished - started).total_seconds(), 1),
            new_findings=new,
            by_character_platform=dict(
                Counter(
                    f"{f['character']} on {f['platform']}" for f in new if f["decision"] != "ignore"
                )
            ),
            review_waiting=sum(1 for f in new if f["decision"] == Decision.REVIEW.value),
            captures_sealed=sum(1 for r in results if r.sealed),
            captures_failed=sum(1 for r in results if not r.sealed),
            failures=failures,
            crawl=report.stats(),
            top_finding=top,
        )
        write_reports(config, summary)
        if options.notify:
            summary.notifications_failed = [
                str(e)
                for e in send_digest(channels(config.notifications), digest_of(config, summary))
            ]
    return summary


def _final_status(report: CrawlReport, interrupted: bool, store: Store) -> RunStatus:
    if not interrupted:
        return report.status
    with store.session() as session:
        run = session.get(CrawlRun, report.run_id)
        if run is not None:
            run.status = RunStatus.INTERRUPTED
            run.error = "stopped on request (SIGTERM) before evidence capture"
    return RunStatus.INTERRUPTED


def _export_top(
    store: Store,
    settings: EvidenceSettings,
    results: Sequence[CaptureResult],
    say: Say,
    failures: list[str],
) -> dict[str, Any] | None:
    """Export the highest-scoring finding sealed in this run as a case bundle."""
    sealed_ids = [r for r in results if r.sealed]
    if not sealed_ids:
        return None
    with store.session() as session:
        rows = session.execute(
            select(Capture.finding_id, Capture.bundle_path, Finding.score)
            .join(Finding, Capture.finding_id == Finding.id)
            .where(Capture.manifest_sha256.in_([r.manifest_sha256 for r in sealed_ids]))
            .order_by(Finding.score.desc(), Finding.id)
        ).all()
    if not rows:
        return None
    finding_id, capture_dir, score = rows[0]
    assert finding_id is not None
    bundle = settings.folder / "bundles" / f"finding-{finding_id}.zip"
    say(f"exporting the top finding ({finding_id}, score {score:.2f}) to {bundle}")
    try:
        exported = export_bundle(store, [finding_id], str(bundle), settings)
    except EvidenceError as exc:
        failures.append(f"export of finding {finding_id}: {exc}")
        return {"finding_id": finding_id, "capture": capture_dir, "bundle": None}
    return {
        "finding_id": finding_id,
        "score": score,
        "capture": capture_dir,
        "bundle": exported.uri,
        "bundle_sha256": exported.sha256,
        "reports": _extract_reports(bundle, finding_id),
    }


def _extract_reports(bundle: Path, finding_id: int) -> list[str]:
    """Copy the finding's court report (HTML and PDF) out of its bundle, beside it."""
    out: list[str] = []
    with zipfile.ZipFile(bundle) as archive:
        for suffix in (".pdf", ".html"):
            member = f"findings/{finding_id}/report{suffix}"
            if member in archive.namelist():
                target = bundle.with_name(f"finding-{finding_id}-report{suffix}")
                target.write_bytes(archive.read(member))
                out.append(str(target))
    return out


# Scheduled entry points (named by textual reference in the job store) -------------------------


def _job_store(config_path: str, database_url: str | None) -> Store:
    """The case file a scheduled job uses: its stored URL, else the environment, else config."""
    if database_url:
        return Store.open(database_url)
    return Store.open(resolve_url(None, load_config(Path(config_path)).database.url))


def scheduled_run(
    config_path: str, database_url: str | None = None, max_captures: int | None = None
) -> dict[str, Any]:
    store = _job_store(config_path, database_url)
    try:
        options = RunOptions(max_captures=max_captures)
        return run_monitoring(Path(config_path), store, options).to_json()
    finally:
        store.dispose()


def scheduled_recheck(config_path: str, database_url: str | None = None) -> dict[str, Any]:
    store = _job_store(config_path, database_url)
    try:
        return run_rechecks(Path(config_path), store).to_json()
    finally:
        store.dispose()

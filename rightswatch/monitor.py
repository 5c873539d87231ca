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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scheduler
from crawler.crawl import CrawlReport, Progress, run_crawl
from evidence.bundle import export_bundle
from evidence.capture import CaptureResult
from evidence.casefile import anchor_run, capture_findings
from evidence.exceptions import EvidenceError
from evidence.kinds import RunStatus
from evidence.lease import hold
from evidence.queries.captures import findings_to_capture, top_sealed
from evidence.queries.findings import finding_rows
from evidence.queries.runs import mark_interrupted, reap_crashed_runs
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
from rightswatch.runsummary import RunSummary, TopFinding

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
        for run_id in reap_crashed_runs(store, str(config_file)):
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
            failures += [f"{platform.name}: {f}" for f in platform.failures]
        new = finding_rows(store, run_id=report.run_id)
        interrupted = scheduler.stop_requested() or lease.lost.is_set()
        ids: list[int] = []
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
        sealed = [i for i, r in zip(ids, results, strict=True) if r.sealed]
        top = _export_top(store, settings, sealed, say, failures)
        status = _final_status(report, interrupted, store)
        finished = datetime.now(UTC)
        summary = RunSummary(
            run_id=report.run_id,
            status=status,
            started_at=started.isoformat(),
            finished_at=finished.isoformat(),
            seconds=round((finished - started).total_seconds(), 1),
            new_findings=tuple(new),
            captures_sealed=sum(1 for r in results if r.sealed),
            captures_failed=sum(1 for r in results if not r.sealed),
            failures=failures,
            crawl=report.stats(),
            top_finding=top,
        )
        summary = write_reports(config, summary)
        if options.notify:
            summary.notifications_failed = [
                str(e)
                for e in send_digest(channels(config.notifications), digest_of(config, summary))
            ]
    return summary


def _final_status(report: CrawlReport, interrupted: bool, store: Store) -> RunStatus:
    if not interrupted:
        return report.status
    mark_interrupted(store, report.run_id, "stopped on request (SIGTERM) before evidence capture")
    return RunStatus.INTERRUPTED


def _export_top(
    store: Store,
    settings: EvidenceSettings,
    sealed_ids: Sequence[int],
    say: Say,
    failures: list[str],
) -> TopFinding | None:
    """Export the highest-scoring finding sealed in this run as a case bundle."""
    top = top_sealed(store, sealed_ids)
    if top is None:
        return None
    finding_id, score = top.finding_id, top.score
    bundle = settings.folder / "bundles" / f"finding-{finding_id}.zip"
    say(f"exporting the top finding ({finding_id}, score {score:.2f}) to {bundle}")
    try:
        exported = export_bundle(
            store, [finding_id], str(bundle), settings, reports_to=bundle.parent
        )
    except EvidenceError as exc:
        failures.append(f"export of finding {finding_id}: {exc}")
        return TopFinding(finding_id=finding_id, score=score, capture=top.capture_dir)
    return TopFinding(
        finding_id=finding_id,
        score=score,
        capture=top.capture_dir,
        bundle=exported.uri,
        bundle_sha256=exported.sha256,
        reports=exported.reports,
    )


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

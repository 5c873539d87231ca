"""A crawl run in a child process, and its report.

Twisted's reactor cannot be restarted in a process (stack.md §5), so every run is a fresh child
process: ``python -m crawler.crawl PLAN.json REPORT.json``. :func:`run_crawl` is the entry point
for callers (the CLI, the scheduler):

1. opens the case file and creates the ``CrawlRun`` row (status running);
2. starts the child with :func:`crawler.launch.launch_crawl_child` (plan on stdin, a redacted
   copy in ``<output>/run-<id>/plan.json``); its Scrapy log goes to ``<output>/run-<id>/crawl.log``
   and its stdout carries progress lines;
3. calls ``on_progress`` for each line, waits (with an optional timeout, then kills);
4. reads the child's report and stores status and stats on the ``CrawlRun`` row.

Status: ``failed`` when the child died, timed out, a platform did not finish or no platform
answered a single request (:func:`no_answer`);
``partial`` when it finished with anything recorded as failed or blocked (media included);
else ``succeeded``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.exceptions import CrawlConfigError
from crawler.launch import launch_crawl_child
from crawler.plan import CrawlPlan
from evidence.kinds import RunStatus
from evidence.queries import runs
from evidence.store import Store


@dataclass(frozen=True)
class Progress:
    platform: str
    pages: int
    items: int
    errors: int
    done: bool = False

    @classmethod
    def from_line(cls, line: str) -> Progress | None:
        try:
            data = json.loads(line)
            return cls(
                platform=str(data["platform"]),
                pages=int(data["pages"]),
                items=int(data["items"]),
                errors=int(data["errors"]),
                done=bool(data.get("done", False)),
            )
        except (ValueError, KeyError, TypeError):
            return None


ProgressCallback = Callable[[Progress], None]
COUNTERS = (
    "pages",
    "candidates_new",
    "candidates_updated",
    "candidates_unchanged",
    "failed",
    "blocked",
    "findings_new",
    "media_failed",
    "judged",
    "match_skipped",
    "incremental_stops",
    "answered",
)


@dataclass(frozen=True)
class ListedFailure:
    """Something the crawl meant to record and could not, as the run's report lists it."""

    url: str
    status: str  # crawler.items.FailureStatus value: blocked, failed
    reason: str
    kind: str | None = None
    external_id: str | None = None

    def __str__(self) -> str:
        return f"{self.url or self.external_id or '?'}: {self.reason or self.status or 'failed'}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ListedFailure:
        return cls(
            url=str(data.get("url") or ""),
            status=str(data.get("status") or ""),
            reason=str(data.get("reason") or ""),
            kind=data.get("kind"),
            external_id=data.get("external_id"),
        )


@dataclass(frozen=True)
class PlatformReport:
    name: str
    finish_reason: str  # Scrapy's: "finished", "shutdown", "closespider_..."
    counters: Mapping[str, int]
    warc_file: str | None
    match_note: str | None
    failures: tuple[ListedFailure, ...] = ()
    # a message naming the setting to change when the platform gave nothing to crawl
    error: str | None = None
    notes: tuple[str, ...] = ()  # e.g. "mature content was not visible: no token"
    robots: tuple[Mapping[str, Any], ...] = ()  # per host: robots.txt read and policy applied
    waits: tuple[Mapping[str, Any], ...] = ()  # host pauses (429) and slow-downs (RateLimit)

    @property
    def finished(self) -> bool:
        return self.finish_reason == "finished" and self.error is None

    def to_json(self) -> dict[str, Any]:
        """What the crawl child writes to its report file, one entry per platform."""
        return {
            "name": self.name,
            "finish_reason": self.finish_reason,
            "counters": dict(self.counters),
            "warc_file": self.warc_file,
            "match_note": self.match_note,
            "failures": [f.to_json() for f in self.failures],
            "error": self.error,
            "notes": list(self.notes),
            "robots": [dict(r) for r in self.robots],
            "waits": [dict(w) for w in self.waits],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlatformReport:
        """The parent's reading of :meth:`to_json` (the one schema of the report file)."""
        return cls(
            name=str(data["name"]),
            finish_reason=str(data["finish_reason"]),
            counters={k: int(v) for k, v in data["counters"].items()},
            warc_file=data.get("warc_file"),
            match_note=data.get("match_note"),
            failures=tuple(ListedFailure.from_json(f) for f in data.get("failures", [])),
            error=data.get("error"),
            notes=tuple(data.get("notes", [])),
            robots=tuple(data.get("robots", [])),
            waits=tuple(data.get("waits", [])),
        )


def write_report(path: Path, platforms: Sequence[PlatformReport]) -> None:
    """The crawl child's report file, written atomically (read back by :func:`run_crawl`)."""
    tmp = path.with_suffix(".tmp")
    body = {"platforms": [p.to_json() for p in platforms]}
    tmp.write_text(json.dumps(body, default=str), encoding="utf-8")
    tmp.replace(path)


@dataclass(frozen=True)
class CrawlReport:
    """What :func:`run_crawl` returns (and stores on the CrawlRun row)."""

    run_id: int
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    platforms: tuple[PlatformReport, ...]
    log_file: Path
    error: str | None = None
    totals: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)

    @classmethod
    def of(
        cls,
        run_id: int,
        started_at: datetime,
        platforms: tuple[PlatformReport, ...],
        log_file: Path,
        error: str | None,
    ) -> CrawlReport:
        """A finished run's report: its status and totals follow from the platforms' reports
        (a run that reached no platform is failed, :func:`no_answer`)."""
        error = error or no_answer(platforms)
        return cls(
            run_id=run_id,
            status=run_status(platforms, error),
            started_at=started_at,
            finished_at=datetime.now(UTC),
            platforms=platforms,
            log_file=log_file,
            error=error,
            totals={k: sum(p.counters.get(k, 0) for p in platforms) for k in COUNTERS},
        )

    def stats(self) -> dict[str, Any]:
        return {
            "totals": dict(self.totals),
            "platforms": {
                p.name: {
                    "finish_reason": p.finish_reason,
                    **p.counters,
                    "warc_file": p.warc_file,
                    "match": p.match_note,
                    "failures": [f.to_json() for f in p.failures],
                    "error": p.error,
                    "notes": list(p.notes),
                    "robots": list(p.robots),
                    "waits": list(p.waits),
                }
                for p in self.platforms
            },
            "log_file": str(self.log_file),
        }


def run_status(platforms: Sequence[PlatformReport], error: str | None) -> RunStatus:
    """failed when a platform did not finish or the run errored; partial when items failed."""
    if error is not None or not platforms or not all(p.finished for p in platforms):
        return RunStatus.FAILED
    if any(
        p.failures or p.counters.get("failed", 0) or p.counters.get("blocked", 0) for p in platforms
    ):
        return RunStatus.PARTIAL
    return RunStatus.SUCCEEDED


def no_answer(platforms: Sequence[PlatformReport]) -> str | None:
    """Why the run reached nothing, when no platform answered a single request; else None.

    A platform "answered" when it sent at least one 2xx or 3xx response. A run that reached no
    platform is failed, so a scheduled job that is broken (network, DNS, a block) is loud.
    """
    if not platforms or not all(p.finished for p in platforms):
        return None  # failed already, for the reason the platform's finish reason gives
    reached = [p for p in platforms if p.counters.get("answered", p.counters.get("pages", 0))]
    if reached:
        return None
    detail = ", ".join(
        f"{p.name} ({p.counters.get('failed', 0)} request(s) failed, "
        f"{p.counters.get('pages', 0)} error response(s))"
        for p in platforms
    )
    return f"no platform answered: {detail}"


def _read_report(path: Path) -> tuple[PlatformReport, ...]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(PlatformReport.from_json(p) for p in data["platforms"])


def open_run(
    store: Store, plan: CrawlPlan, config_path: str | None, *, pid: int | None = None
) -> tuple[int, datetime]:
    """Create the run's ``CrawlRun`` row (status running); its id and start time."""
    return runs.open_run(store, [t.name for t in plan.targets], config_path, pid)


def close_run(
    store: Store, report: CrawlReport, extra_stats: Mapping[str, Any] | None = None
) -> None:
    """Store the report's status, end time, stats and error on its ``CrawlRun`` row."""
    stats = {**report.stats(), **(extra_stats or {})}
    runs.close_run(store, report.run_id, report.status, report.finished_at, report.error, stats)


def run_crawl(
    plan: CrawlPlan,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
    config_path: str | None = None,
) -> CrawlReport:
    """Run ``plan`` in a child process; return its :class:`CrawlReport`."""
    if not plan.targets:
        raise CrawlConfigError("nothing to crawl: no platform selected")
    store = Store.open(plan.database_url)
    run_id, started = open_run(store, plan, config_path)
    run_dir = plan.output_dir / f"run-{run_id}"
    plan = replace(plan, run_id=run_id)

    def started_child(pid: int) -> None:
        runs.note_crawl(store, run_id, str(run_dir), pid)

    outcome = launch_crawl_child(
        plan,
        run_dir,
        log_file=run_dir / "crawl.log",
        on_line=progress_lines(on_progress),
        timeout_s=timeout_s,
        on_start=started_child,
    )
    error = outcome.error(timeout_s)
    platforms: tuple[PlatformReport, ...] = ()
    log_file = outcome.log_file
    if outcome.report_file.exists():
        platforms = _read_report(outcome.report_file)
    elif error is None:
        error = f"crawl process wrote no report; see {log_file}"
    if error is None and platforms and all(p.error for p in platforms):
        error = "; ".join(str(p.error) for p in platforms)
    report = CrawlReport.of(run_id, started, platforms, log_file, error)
    close_run(store, report)
    store.dispose()
    return report


def progress_lines(on_progress: ProgressCallback | None) -> Callable[[str], None] | None:
    """A reader of the child's stdout lines that hands progress to ``on_progress``."""
    if on_progress is None:
        return None
    callback = on_progress

    def on_line(line: str) -> None:
        progress = Progress.from_line(line)
        if progress is not None:
            callback(progress)

    return on_line


def main(argv: list[str]) -> int:
    """The child: ``python -m crawler.crawl PLAN.json|- REPORT.json`` (``-``: plan on stdin)."""
    # The likeness engine judges on one thread of its own (the match pipeline's pool). OpenMP
    # pools left at one thread per core spin beside it on the cores the reactor and the
    # database thread need: 5.6x the crawl's CPU per candidate with references loaded
    # (docs/performance.md, Crawler). Set before the libraries load; an operator's value wins.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from crawler.child import crawl_in_this_process

    source = sys.stdin.read() if argv[0] == "-" else Path(argv[0]).read_text(encoding="utf-8")
    plan = CrawlPlan.from_json(source)
    crawl_in_this_process(plan, Path(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

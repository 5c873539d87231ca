"""When work runs: an APScheduler 3.x service whose job store lives in the case-file database.

Jobs are named by textual reference (``"rightswatch.monitor:scheduled_run"``), never imported
here, so this module stays below the front door and the persistent store can rebuild them after
a restart. Defaults follow the measured pitfalls (``shared/research/stack.md`` §5):

* ``misfire_grace_time`` is minutes, not APScheduler's 1 s default that silently skips runs on
  a busy machine;
* ``coalesce=True``: runs missed while the service was down run once, not once per miss;
* ``max_instances=1``: a job never overlaps itself in this process (across processes the
  monitoring run holds a lease in the case file);
* jobs that did not change keep their stored next run time, so a restart neither loses nor
  repeats a run.

SIGTERM and SIGINT ask the running job to stop (:func:`stop_requested`) and shut the scheduler
down after it has finished and recorded its state.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import ref_to_obj

log = logging.getLogger("rightswatch.scheduler")

JOBS_TABLE = "apscheduler_jobs"
_STOP = threading.Event()


class SchedulerError(Exception):
    """A job could not be scheduled or found (a user's error: the CLI prints one line)."""

    exit_code = 2


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job. Exactly one of ``cron`` (five fields, UTC) or ``every_seconds``."""

    id: str
    func: str  # "package.module:function", importable by the scheduler process
    cron: str | None = None
    every_seconds: float | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def trigger(self) -> BaseTrigger:
        if (self.cron is None) == (self.every_seconds is None):
            raise SchedulerError(f"job {self.id!r}: give exactly one of cron or every_seconds")
        if self.cron is not None:
            try:
                return CronTrigger.from_crontab(self.cron, timezone=UTC)
            except ValueError as exc:
                raise SchedulerError(f"job {self.id!r}: bad cron {self.cron!r}: {exc}") from exc
        assert self.every_seconds is not None
        return IntervalTrigger(seconds=self.every_seconds, timezone=UTC)


@dataclass(frozen=True)
class SchedulerOptions:
    database_url: str
    misfire_grace_seconds: int = 15 * 60
    workers: int = 2


@dataclass(frozen=True)
class JobInfo:
    id: str
    func: str
    trigger: str
    next_run: datetime | None


def stop_requested() -> bool:
    """True once SIGTERM or SIGINT asked the service to stop; long jobs check it."""
    return _STOP.is_set()


def request_stop() -> None:
    _STOP.set()


def build(options: SchedulerOptions) -> BackgroundScheduler:
    """A scheduler with its job store in the case file and safe job defaults."""
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=options.database_url, tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(options.workers)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": options.misfire_grace_seconds,
        },
        timezone=UTC,
    )


def sync_jobs(scheduler: BaseScheduler, specs: Sequence[JobSpec]) -> list[str]:
    """Make the stored jobs match ``specs``; unchanged jobs keep their next run time.

    Returns the ids that were added or replaced.
    """
    wanted = {spec.id: spec for spec in specs}
    changed: list[str] = []
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("removing job %s (no longer configured)", job.id)
            job.remove()
    for spec in specs:
        trigger = spec.trigger()
        current = scheduler.get_job(spec.id)
        if (
            current is not None
            and current.func_ref == spec.func
            and str(current.trigger) == str(trigger)
            and dict(current.kwargs) == dict(spec.kwargs)
        ):
            continue
        scheduler.add_job(
            spec.func,
            trigger=trigger,
            id=spec.id,
            name=spec.id,
            kwargs=dict(spec.kwargs),
            replace_existing=True,
        )
        changed.append(spec.id)
    return changed


def list_jobs(options: SchedulerOptions) -> list[JobInfo]:
    """The stored jobs and their next run times, read without starting anything."""
    store = SQLAlchemyJobStore(url=options.database_url, tablename=JOBS_TABLE)
    probe = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    store.start(probe, "default")
    try:
        return [
            JobInfo(job.id, job.func_ref, str(job.trigger), job.next_run_time)
            for job in store.get_all_jobs()
        ]
    finally:
        store.shutdown()


def run_now(spec: JobSpec) -> Any:
    """Run one job's function at once, in this process."""
    try:
        func: Callable[..., Any] = ref_to_obj(spec.func)
    except (LookupError, ValueError, TypeError) as exc:
        raise SchedulerError(f"job {spec.id!r}: cannot import {spec.func!r}: {exc}") from exc
    return func(**spec.kwargs)


def serve(
    options: SchedulerOptions,
    specs: Sequence[JobSpec],
    *,
    on_started: Callable[[BaseScheduler], None] | None = None,
) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT.

    The signal sets :func:`stop_requested`; the running job is allowed to finish and record
    its state, then the scheduler shuts down.
    """
    _STOP.clear()
    scheduler = build(options)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.warning("signal %s: finishing the current job, then stopping", signum)
        request_stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start(paused=True)
        changed = sync_jobs(scheduler, specs)
        log.info("scheduler started with %d jobs (%d changed)", len(specs), len(changed))
        scheduler.resume()
        if on_started is not None:
            on_started(scheduler)
        while not _STOP.wait(0.5):
            pass
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

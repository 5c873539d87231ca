"""The scheduling service: persistence, coalescing, grace and clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.interval import IntervalTrigger

import scheduler
from scheduler import (
    JobSpec,
    SchedulerError,
    SchedulerOptions,
    build,
    list_jobs,
    run_now,
    sync_jobs,
)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _wait_for(predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def options(tmp_path: Path) -> SchedulerOptions:
    return SchedulerOptions(database_url=f"sqlite:///{tmp_path / 'case.db'}")


def _serve_child(options: SchedulerOptions, spec: JobSpec) -> subprocess.Popen[str]:
    script = textwrap.dedent(f"""
        import scheduler
        spec = scheduler.JobSpec(id={spec.id!r}, func={spec.func!r},
                                 every_seconds={spec.every_seconds!r}, kwargs={dict(spec.kwargs)!r})
        opts = scheduler.SchedulerOptions(database_url={options.database_url!r})
        scheduler.serve(opts, [spec], on_started=lambda s: print("started", flush=True))
        print("clean exit", flush=True)
    """)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_seconds_trigger_runs_and_sigterm_lets_the_job_finish(
    tmp_path: Path, options: SchedulerOptions
) -> None:
    out = tmp_path / "runs.txt"
    spec = JobSpec(
        id="slow",
        func="tests.support.jobs:slow_record",
        every_seconds=1,
        kwargs={"path": str(out), "seconds": 30},
    )
    with _serve_child(options, spec) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"
        assert _wait_for(lambda: len(_lines(out)) >= 1), "the job never ran"
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 0
        assert "clean exit" in child.stdout.read()
    # the running job saw the stop request and recorded how it ended, once
    assert _lines(out)[1:] == ["stopped"]


def test_jobs_survive_a_restart_with_their_next_run_time(
    tmp_path: Path, options: SchedulerOptions
) -> None:
    spec = JobSpec(
        id="nightly",
        func="tests.support.jobs:record",
        cron="0 3 * * *",
        kwargs={"path": str(tmp_path / "x")},
    )
    first = build(options)
    first.start(paused=True)
    assert sync_jobs(first, [spec]) == ["nightly"]
    first.shutdown()
    stored = list_jobs(options)
    assert [(j.id, j.func) for j in stored] == [("nightly", "tests.support.jobs:record")]
    assert stored[0].next_run is not None and stored[0].next_run.hour == 3

    second = build(options)
    second.start(paused=True)
    assert sync_jobs(second, [spec]) == []  # unchanged: kept as stored
    changed = JobSpec(id="nightly", func=spec.func, cron="30 4 * * *", kwargs=spec.kwargs)
    assert sync_jobs(second, [changed]) == ["nightly"]
    second.shutdown()
    assert list_jobs(options)[0].next_run.minute == 30  # type: ignore[union-attr]


def test_jobs_no_longer_configured_are_removed(tmp_path: Path, options: SchedulerOptions) -> None:
    kw = {"path": str(tmp_path / "x")}
    sched = build(options)
    sched.start(paused=True)
    sync_jobs(
        sched,
        [
            JobSpec(id=n, func="tests.support.jobs:record", cron="0 3 * * *", kwargs=kw)
            for n in ("a", "b")
        ],
    )
    sync_jobs(
        sched, [JobSpec(id="a", func="tests.support.jobs:record", cron="0 3 * * *", kwargs=kw)]
    )
    sched.shutdown()
    assert [j.id for j in list_jobs(options)] == ["a"]


def _missed(options: SchedulerOptions, out: Path, interval: timedelta, late: timedelta) -> None:
    """Write a job whose next run is ``late`` in the past, as a service that went down leaves it."""
    store = SQLAlchemyJobStore(url=options.database_url, tablename=scheduler.JOBS_TABLE)
    owner = build(options)
    store.start(owner, "default")
    job = Job(
        owner,
        id="missed",
        name="missed",
        func="tests.support.jobs:record",
        args=(),
        kwargs={"path": str(out)},
        trigger=IntervalTrigger(seconds=interval.total_seconds()),
        executor="default",
        misfire_grace_time=options.misfire_grace_seconds,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC) - late,
    )
    store.add_job(job)
    store.shutdown()


def test_missed_runs_within_grace_run_once(tmp_path: Path, options: SchedulerOptions) -> None:
    out = tmp_path / "runs.txt"
    # five runs were missed (every 60 s, last due 250 s ago); the grace is 15 minutes
    _missed(options, out, timedelta(seconds=60), timedelta(seconds=250))
    sched = build(options)
    sched.start()
    try:
        assert _wait_for(lambda: len(_lines(out)) >= 1, timeout=10)
        time.sleep(1.0)
        assert len(_lines(out)) == 1
    finally:
        sched.shutdown()


def test_missed_run_beyond_grace_is_skipped(tmp_path: Path) -> None:
    options = SchedulerOptions(
        database_url=f"sqlite:///{tmp_path / 'case.db'}", misfire_grace_seconds=60
    )
    out = tmp_path / "runs.txt"
    _missed(options, out, timedelta(hours=1), timedelta(seconds=300))
    sched = build(options)
    sched.start()
    try:
        time.sleep(1.5)
        assert _lines(out) == []
        job = sched.get_job("missed")
        assert job is not None and job.next_run_time > datetime.now(UTC)
    finally:
        sched.shutdown()


def test_bad_specs_are_named() -> None:
    with pytest.raises(SchedulerError, match="job 'x': bad cron"):
        JobSpec(id="x", func="m:f", cron="61 * * * *").trigger()
    with pytest.raises(SchedulerError, match="exactly one of cron or every_seconds"):
        JobSpec(id="y", func="m:f").trigger()
    with pytest.raises(SchedulerError, match=r"cannot import 'no\.such:thing'"):
        run_now(JobSpec(id="z", func="no.such:thing", every_seconds=1))


def test_run_now_calls_the_job(tmp_path: Path) -> None:
    out = tmp_path / "now.txt"
    run_now(
        JobSpec(
            id="n", func="tests.support.jobs:record", every_seconds=1, kwargs={"path": str(out)}
        )
    )
    assert len(_lines(out)) == 1
    assert not scheduler.stop_requested()
    assert os.environ.get("RIGHTSWATCH_STOP") is None

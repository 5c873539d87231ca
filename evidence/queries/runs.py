"""A monitoring run's row in the case file: opened, its crawl child's pid and files noted,
closed with the crawl's status and stats, crashed runs reaped, a run marked interrupted."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from evidence.kinds import RunStatus
from evidence.models import CrawlRun
from evidence.store import Store


def open_run(
    store: Store, platforms: Sequence[str], config_path: str | None, pid: int | None
) -> tuple[int, datetime]:
    """Create a run's row (status running, this host); its id and start time."""
    started = datetime.now(UTC)
    with store.session() as session:
        row = CrawlRun(
            started_at=started,
            status=RunStatus.RUNNING,
            platforms=list(platforms),
            config_path=config_path,
            host=socket.gethostname(),
            pid=pid,
        )
        session.add(row)
        session.flush()
        return row.id, started


def note_crawl(store: Store, run_id: int, warc_path: str, pid: int | None = None) -> None:
    """Where the run's crawl writes its files, and (when known) the pid that crawls."""
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise ValueError(f"no run {run_id} in the case file")
        run.warc_path = warc_path
        if pid is not None:
            run.pid = pid


def close_run(
    store: Store,
    run_id: int,
    status: RunStatus,
    finished_at: datetime,
    error: str | None,
    stats: Mapping[str, Any],
) -> None:
    """Store a finished run's status, end time, error and stats."""
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise ValueError(f"no run {run_id} in the case file")
        run.status, run.finished_at, run.error = status, finished_at, error
        run.stats = dict(stats)


def reap_crashed_runs(store: Store, config_path: str) -> list[int]:
    """Mark as failed the runs of ``config_path`` still "running" from a process that died.

    Call it under the configuration's lease, so that no live process can still own them.
    """
    reaped: list[int] = []
    with store.session() as session:
        rows = session.scalars(
            select(CrawlRun).where(
                CrawlRun.status == RunStatus.RUNNING, CrawlRun.config_path == config_path
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


def mark_interrupted(store: Store, run_id: int, reason: str) -> None:
    """Record that run ``run_id`` was stopped on request, and why."""
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        if run is not None:
            run.status = RunStatus.INTERRUPTED
            run.error = reason


def run_status(store: Store, run_id: int) -> RunStatus | None:
    """The status of run ``run_id``, or None when the case file has no such run."""
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        return None if run is None else run.status

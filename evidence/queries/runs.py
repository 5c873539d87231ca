"""A monitoring run's row in the case file: crashed runs reaped, a run marked interrupted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from evidence.kinds import RunStatus
from evidence.models import CrawlRun
from evidence.store import Store


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

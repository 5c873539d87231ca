"""The monitoring run's side of distributed mode: queue the work, wait, report.

    run_distributed_crawl(plan, ...) -> CrawlReport        same shape as crawler.crawl.run_crawl
    run_distributed_captures(store, finding_ids, ...) -> list[CaptureResult]
                                                            same shape as capture_findings

The crawl creates the ``CrawlRun`` row, cuts the plan into shards (``shards.split_plan``),
sends one task per shard, and waits until every shard posted its result (or the timeout).
Per-platform counters are the sums over the platform's shards; the run's stats also list every
shard with the worker that ran it, its time and its WARC file.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from crawler.crawl import (
    CrawlReport,
    PlatformReport,
    Progress,
    ProgressCallback,
    close_run,
    open_run,
)
from crawler.exceptions import CrawlConfigError
from crawler.plan import CrawlPlan
from evidence.capture import CaptureOutcome, CaptureResult
from evidence.queries.runs import note_crawl
from evidence.store import Store
from rightswatch.distributed.actors import register
from rightswatch.distributed.broker import Connection, ResultBoard, connect
from rightswatch.distributed.captures import hour_slot, result_from_json
from rightswatch.distributed.errors import WaitTimedOut
from rightswatch.distributed.messages import CaptureTask, ShardTask, load_secret, seal
from rightswatch.distributed.shards import ShardResult, split_plan

POLL_S = 0.25


def _wait(
    board: ResultBoard,
    expected: int,
    timeout_s: float | None,
    on_change: Callable[[dict[str, dict[str, Any]]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    seen = -1
    while True:
        count = board.count()
        if count != seen:
            seen = count
            if on_change is not None:
                on_change(board.read())
        if count >= expected or (deadline is not None and time.monotonic() >= deadline):
            return board.read()
        time.sleep(POLL_S)


def _merge(name: str, results: Sequence[ShardResult], missing: int) -> PlatformReport:
    counters: dict[str, int] = {}
    for r in results:
        for key, value in r.platform.counters.items():
            counters[key] = counters.get(key, 0) + value
    reasons = [r.platform.finish_reason for r in results if not r.platform.finished]
    if missing:
        reasons.append(f"{missing} shard(s) unfinished")
    warcs = [r.platform.warc_file for r in results if r.platform.warc_file]
    return PlatformReport(
        name=name,
        finish_reason=reasons[0] if reasons else "finished",
        counters=counters,
        warc_file=warcs[0] if warcs else None,
        match_note=next((r.platform.match_note for r in results if r.platform.match_note), None),
        failures=tuple(f for r in results for f in r.platform.failures),
    )


def _progress(
    platforms: list[str], owners: dict[str, str], posted: dict[str, Any]
) -> list[Progress]:
    out = []
    for name in platforms:
        mine = [ShardResult.from_json(v) for k, v in posted.items() if owners.get(k) == name]
        c: dict[str, int] = {}
        for r in mine:
            for key, value in r.platform.counters.items():
                c[key] = c.get(key, 0) + value
        items = sum(
            c.get(k, 0) for k in ("candidates_new", "candidates_updated", "candidates_unchanged")
        )
        out.append(
            Progress(
                platform=name,
                pages=c.get("pages", 0),
                items=items,
                errors=c.get("failed", 0) + c.get("blocked", 0),
                done=len(mine) == sum(1 for o in owners.values() if o == name),
            )
        )
    return out


def run_distributed_crawl(
    plan: CrawlPlan,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
    config_path: str | None = None,
    redis_url: str | None = None,
    connection: Connection | None = None,
    secret: bytes | None = None,
) -> CrawlReport:
    """Run ``plan`` on the workers, one task per shard; return its :class:`CrawlReport`.

    Each message names the run, the shard and the plan's ``full``/``max_items``; the workers
    build the shard's plan from their own configuration (``secret``: the workers' message
    secret, default :func:`messages.load_secret`).
    """
    if not plan.targets:
        raise CrawlConfigError("nothing to crawl: no platform selected")
    secret = secret or load_secret()
    conn = connection or connect(redis_url)
    actors = register(conn)
    store = Store.open(plan.database_url)
    # the coordinator's pid: the shards run in the workers' children
    run_id, started = open_run(store, plan, config_path, pid=os.getpid())
    note_crawl(store, run_id, str(plan.output_dir / f"run-{run_id}" / "shards"))
    pieces = split_plan(replace(plan, run_id=run_id))
    board = ResultBoard(conn, f"crawl-{run_id}-{uuid.uuid4().hex[:8]}")
    owners = {shard.key: shard.platform for shard, _ in pieces}
    for shard, _piece in pieces:
        task = ShardTask(run_id, shard.key, plan.full, plan.max_items, board.key_suffix)
        actors.crawl_shard.send(seal(task, secret))
    names = [t.name for t in plan.targets]

    def changed(posted: dict[str, dict[str, Any]]) -> None:
        if on_progress is not None:
            for progress in _progress(names, owners, posted):
                on_progress(progress)

    posted = _wait(board, len(pieces), timeout_s, changed)
    results = [ShardResult.from_json(v) for k, v in posted.items() if k in owners]
    missing = len(owners) - len(results)
    platforms = tuple(
        _merge(
            name,
            [r for r in results if owners[r.shard] == name],
            sum(1 for k, o in owners.items() if o == name and k not in posted),
        )
        for name in names
    )
    error = None
    if missing:
        error = str(WaitTimedOut(f"crawl run {run_id}", missing, timeout_s or 0))
    shards = Path(plan.output_dir / f"run-{run_id}" / "shards")
    report = CrawlReport.of(run_id, started, platforms, shards, error)
    close_run(
        store,
        report,
        {
            "shards": {
                r.shard: {
                    "worker": r.worker,
                    "seconds": round(r.seconds, 3),
                    "finish_reason": r.platform.finish_reason,
                    "warc_file": r.platform.warc_file,
                    **r.platform.counters,
                }
                for r in results
            },
        },
    )
    store.dispose()
    board.clear()
    if connection is None:
        conn.close()
    return report


def run_distributed_captures(
    store: Store,
    finding_ids: Sequence[int],
    *,
    slot: str | None = None,
    timeout_s: float | None = None,
    redis_url: str | None = None,
    connection: Connection | None = None,
    secret: bytes | None = None,
) -> list[CaptureResult]:
    """Capture each finding on the workers, at most one final capture per finding and slot.

    ``slot`` defaults to the current UTC hour. The workers capture from their own case file,
    which must be ``store``'s database. Results come back in ``finding_ids`` order; a
    finding whose task did not finish in time, or failed, gets a FAILED result saying why.
    """
    slot = slot or hour_slot()
    secret = secret or load_secret()
    conn = connection or connect(redis_url)
    actors = register(conn)
    board = ResultBoard(conn, f"capture-{uuid.uuid4().hex[:12]}")
    ids = list(dict.fromkeys(finding_ids))
    for finding_id in ids:
        actors.capture_slot.send(seal(CaptureTask(finding_id, slot, board.key_suffix), secret))
    posted = _wait(board, len(ids), timeout_s)
    results: list[CaptureResult] = []
    for finding_id in finding_ids:
        data = posted.get(str(finding_id))
        if data is None or "error" in data:
            why = data["error"] if data else f"not finished within {timeout_s}s"
            results.append(
                CaptureResult(
                    capture_id="",
                    url="",
                    outcome=CaptureOutcome.FAILED,
                    directory=None,
                    message=f"finding {finding_id}, slot {slot}: {why}",
                )
            )
        else:
            results.append(result_from_json(data))
    board.clear()
    if connection is None:
        conn.close()
    return results

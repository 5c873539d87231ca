"""The two kinds of task, as Dramatiq actors: crawl one shard, capture one finding in a slot.

Actors are declared on a given broker by :func:`register` (nothing is declared at import, so
importing this module never picks a broker). The coordinator registers them to send messages;
a worker registers them with a :class:`WorkerContext` to run them.

Both tasks are idempotent, because Redis delivers at least once: a shard's candidates are
upserted on their unique key, a capture is keyed on finding and slot (see ``captures``), and a
result already on the board is never replaced. A task that raises is retried by Dramatiq's
Retries middleware (``MAX_RETRIES`` with exponential back-off); a shard that still fails on its
last try posts a "failed" result, so the coordinator is never left waiting for it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from crawler.plan import CrawlPlan
from crawler.run import PlatformReport
from evidence.exceptions import LeaseHeld, StoreError
from evidence.settings import EvidenceSettings
from evidence.store import Store
from rightswatch.distributed.broker import Connection, ResultBoard
from rightswatch.distributed.captures import capture_in_slot, result_to_json
from rightswatch.distributed.errors import DistributedError, ShardFailed
from rightswatch.distributed.shards import ShardResult, run_shard

CRAWL_QUEUE = "crawl"
CAPTURE_QUEUE = "capture"
SHARD_ACTOR = "rightswatch_crawl_shard"
CAPTURE_ACTOR = "rightswatch_capture_slot"
MAX_RETRIES = 3
SHARD_TIME_LIMIT_MS = 6 * 3600 * 1000  # a long listing on a polite platform takes hours
CAPTURE_TIME_LIMIT_MS = 15 * 60 * 1000


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class WorkerContext:
    """What a worker brings to its tasks: where files go and how evidence is sealed."""

    output_root: Path | None = None  # shard files; None: the plan's own output folder
    evidence: EvidenceSettings | None = None  # needed to run capture tasks
    stores: dict[str, Store] = field(default_factory=dict)

    def store(self, url: str) -> Store:
        """One store per database URL for the life of the worker."""
        if url not in self.stores:
            self.stores[url] = Store.open(url, upgrade=False)
        return self.stores[url]

    def close(self) -> None:
        for store in self.stores.values():
            store.dispose()
        self.stores.clear()


@dataclass(frozen=True)
class Actors:
    crawl_shard: dramatiq.Actor[Any, Any]
    capture_slot: dramatiq.Actor[Any, Any]


def _last_try() -> bool:
    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message is not None else MAX_RETRIES
    return retries >= MAX_RETRIES


def _failed_shard(shard: str, platform: str, reason: str) -> ShardResult:
    report = PlatformReport(
        name=platform,
        finish_reason=f"failed: {reason}",
        counters={},
        warc_file=None,
        match_note=None,
    )
    return ShardResult(shard=shard, platform=report, worker=worker_name(), seconds=0.0)


def register(conn: Connection, context: WorkerContext | None = None) -> Actors:
    """Declare the actors on ``conn``'s broker; ``context`` is needed only to run them.

    Senders may call it again on the same connection: they get the actors already declared.
    """
    if context is None and SHARD_ACTOR in conn.broker.actors:
        return Actors(
            crawl_shard=conn.broker.get_actor(SHARD_ACTOR),
            capture_slot=conn.broker.get_actor(CAPTURE_ACTOR),
        )

    def need_context() -> WorkerContext:
        if context is None:
            raise DistributedError("this process sends tasks only; start 'rightswatch worker'")
        return context

    def crawl_shard(run_id: int, shard: str, plan: str, board: str) -> None:
        results = ResultBoard(conn, board)
        if results.has(shard):
            return  # redelivered after it finished: nothing left to do
        ctx = need_context()
        crawl_plan = CrawlPlan.from_json(plan)
        started = time.monotonic()
        try:
            report = run_shard(run_id, shard, crawl_plan, ctx.output_root or crawl_plan.output_dir)
        except ShardFailed as exc:
            if not _last_try():
                raise
            failed = _failed_shard(shard, crawl_plan.targets[0].name, exc.reason)
            results.post(shard, failed.to_json())
            return
        done = ShardResult(shard, report, worker_name(), time.monotonic() - started)
        results.post(shard, done.to_json())

    def capture_slot(database_url: str, finding_id: int, slot: str, board: str) -> None:
        results = ResultBoard(conn, board)
        if results.has(str(finding_id)):
            return
        ctx = need_context()
        if ctx.evidence is None:
            raise DistributedError("capture task: this worker has no [evidence] settings")
        try:
            result = capture_in_slot(ctx.store(database_url), finding_id, slot, ctx.evidence)
        except LeaseHeld:
            raise  # another worker is on it: retry later, then find its capture
        except StoreError as exc:
            if not _last_try():
                raise
            results.post(str(finding_id), {"error": str(exc)})
            return
        results.post(str(finding_id), result_to_json(result))

    def declare(fn: Callable[..., None], name: str, queue: str, limit: int) -> Any:
        return dramatiq.Actor(
            fn,
            broker=conn.broker,
            actor_name=name,
            queue_name=queue,
            priority=0,
            options={
                "max_retries": MAX_RETRIES,
                "min_backoff": 1_000,
                "max_backoff": 60_000,
                "time_limit": limit,
            },
        )

    return Actors(
        crawl_shard=declare(crawl_shard, SHARD_ACTOR, CRAWL_QUEUE, SHARD_TIME_LIMIT_MS),
        capture_slot=declare(capture_slot, CAPTURE_ACTOR, CAPTURE_QUEUE, CAPTURE_TIME_LIMIT_MS),
    )

"""The two kinds of task, as Dramatiq actors: crawl one shard, capture one finding in a slot.

Actors are declared on a given broker by :func:`register` (nothing is declared at import, so
importing this module never picks a broker). The coordinator registers them to send messages;
a worker registers them with a :class:`WorkerContext` to run them.

Each actor takes one argument, a signed envelope (``messages``): a message that is unsigned,
altered, stale or malformed is logged and dropped, never run and never retried. The task in it
names ids only; the worker builds the shard's plan from its own configuration and opens its own
case file, so a message cannot choose settings, a database, a folder or a URL.

Both tasks are idempotent, because Redis delivers at least once: a shard's candidates are
upserted on their unique key, a capture is keyed on finding and slot (see ``captures``), and a
result already on the board is never replaced. A task that raises is retried by Dramatiq's
Retries middleware (``MAX_RETRIES`` with exponential back-off); a shard that still fails on its
last try posts a "failed" result, so the coordinator is never left waiting for it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from crawler.crawl import PlatformReport
from crawler.plan import CrawlPlan
from evidence.exceptions import LeaseHeld, StoreError
from evidence.kinds import RunStatus
from evidence.queries.runs import run_status
from evidence.settings import EvidenceSettings
from evidence.store import Store
from rightswatch.config import WatchConfig
from rightswatch.crawling import plan_from_config
from rightswatch.distributed.broker import Connection, ResultBoard
from rightswatch.distributed.captures import capture_in_slot, result_to_json
from rightswatch.distributed.errors import DistributedError, ShardFailed, ShardRejected
from rightswatch.distributed.messages import (
    CaptureTask,
    MessageRefused,
    ShardTask,
    describe,
    open_task,
)
from rightswatch.distributed.shards import ShardResult, run_shard, split_plan

log = logging.getLogger(__name__)

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
    """What a worker brings to its tasks, all from its own configuration, never a message.

    ``secret`` verifies messages; ``database_url`` is the case file; ``config`` the watch
    configuration crawl plans are built from; ``output_root`` where shard files go;
    ``evidence`` how captures are sealed; ``crawl_settings`` extra Scrapy settings chosen by
    whoever started the worker.
    """

    secret: bytes
    database_url: str
    config: WatchConfig | None = None  # needed to run crawl tasks
    output_root: Path | None = None  # default: the config's evidence folder / crawls
    evidence: EvidenceSettings | None = None  # needed to run capture tasks
    crawl_settings: Mapping[str, Any] = field(default_factory=dict)
    _store: Store | None = field(default=None, repr=False)

    def store(self) -> Store:
        """The case file, opened once for the life of the worker."""
        if self._store is None:
            self._store = Store.open(self.database_url, upgrade=False)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None


@dataclass(frozen=True)
class Actors:
    crawl_shard: dramatiq.Actor[Any, Any]
    capture_slot: dramatiq.Actor[Any, Any]


def _last_try() -> bool:
    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message is not None else MAX_RETRIES
    return retries >= MAX_RETRIES


def _message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else "?"


def _failed_shard(shard: str, platform: str, reason: str) -> ShardResult:
    report = PlatformReport(
        name=platform,
        finish_reason=f"failed: {reason}",
        counters={},
        warc_file=None,
        match_note=None,
    )
    return ShardResult(shard=shard, platform=report, worker=worker_name(), seconds=0.0)


def shard_plan(ctx: WorkerContext, task: ShardTask) -> CrawlPlan:
    """The one-listing plan for ``task``, built from the worker's own configuration.

    Raises :class:`ShardRejected` when the run is not a running crawl in this worker's case file
    or the shard is not one of this worker's configured platform's listings.
    """
    if ctx.config is None:
        raise DistributedError("crawl task: this worker has no configuration (--config)")
    state = run_status(ctx.store(), task.run_id)
    if state is not RunStatus.RUNNING:
        why = "does not exist" if state is None else f"is {state.value}, not running"
        raise ShardRejected(task.run_id, task.shard, f"run {task.run_id} {why} in the case file")
    if task.platform not in {p.name for p in ctx.config.platforms}:
        raise ShardRejected(task.run_id, task.shard, "platform not in this worker's configuration")
    plan = plan_from_config(
        ctx.config,
        ctx.database_url,
        platforms=(task.platform,),
        full=task.full,
        max_items=task.max_items,
    )
    plan = replace(plan, run_id=task.run_id, settings={**plan.settings, **ctx.crawl_settings})
    pieces = {shard.key: piece for shard, piece in split_plan(plan)}
    if task.shard not in pieces:
        raise ShardRejected(task.run_id, task.shard, "not a listing of this worker's configuration")
    return pieces[task.shard]


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

    def refused(actor: str, exc: MessageRefused, args: Any, kwargs: Any) -> None:
        log.warning(
            "refused %s message %s: %s [%s]",
            actor,
            _message_id(),
            exc,
            describe(args, kwargs),
        )

    def crawl_shard(*args: Any, **kwargs: Any) -> None:
        ctx = need_context()
        try:
            task = open_task(ShardTask, args, kwargs, ctx.secret)
        except MessageRefused as exc:
            refused(SHARD_ACTOR, exc, args, kwargs)
            return  # acknowledged and dropped: never retried, never run
        results = ResultBoard(conn, task.board)
        if results.has(task.shard):
            return  # redelivered after it finished: nothing left to do
        started = time.monotonic()
        try:
            plan = shard_plan(ctx, task)
            root = ctx.output_root or plan.output_dir
            report = run_shard(task.run_id, task.shard, plan, root)
        except ShardFailed as exc:
            if not isinstance(exc, ShardRejected) and not _last_try():
                raise
            results.post(task.shard, _failed_shard(task.shard, task.platform, exc.reason).to_json())
            return
        done = ShardResult(task.shard, report, worker_name(), time.monotonic() - started)
        results.post(task.shard, done.to_json())

    def capture_slot(*args: Any, **kwargs: Any) -> None:
        ctx = need_context()
        try:
            task = open_task(CaptureTask, args, kwargs, ctx.secret)
        except MessageRefused as exc:
            refused(CAPTURE_ACTOR, exc, args, kwargs)
            return
        results = ResultBoard(conn, task.board)
        key = str(task.finding_id)
        if results.has(key):
            return
        if ctx.evidence is None:
            raise DistributedError("capture task: this worker has no [evidence] settings")
        try:
            result = capture_in_slot(ctx.store(), task.finding_id, task.slot, ctx.evidence)
        except LeaseHeld:
            raise  # another worker is on it: retry later, then find its capture
        except StoreError as exc:
            if not _last_try():
                raise
            results.post(key, {"error": str(exc)})
            return
        results.post(key, result_to_json(result))

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

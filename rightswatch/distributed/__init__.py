"""Distributed mode: crawl shards and captures run by workers on several machines over Redis.

Switched on by ``RIGHTSWATCH_REDIS_URL``. The engine is Dramatiq on its Redis broker (see
docs/scaling.md for the choice); the case file is a shared PostgreSQL database.

    broker.py       connection, namespace, the result board the coordinator waits on
    messages.py     signed, typed, id-only task messages and the workers' shared secret
    shards.py       cutting a crawl plan into shards; running one shard in a child process
    captures.py     one final capture per finding and time slot (idempotency key + lease)
    actors.py       the two tasks, declared on a broker; the worker's context
    coordinator.py  run_distributed_crawl / run_distributed_captures (the monitoring run's API)
    worker.py       the worker process behind ``rightswatch worker``
    errors.py       DistributedError and its children
"""

from __future__ import annotations

from rightswatch.distributed.broker import REDIS_ENV, enabled
from rightswatch.distributed.coordinator import run_distributed_captures, run_distributed_crawl

__all__ = ["REDIS_ENV", "enabled", "run_distributed_captures", "run_distributed_crawl"]

"""The Dramatiq broker on Redis, and the result board the coordinator waits on.

``RIGHTSWATCH_REDIS_URL`` (e.g. ``redis://queue.internal:6379/0``) switches distributed mode
on; ``RIGHTSWATCH_REDIS_NAMESPACE`` (default ``rightswatch``) prefixes every key, so several
deployments or test sessions can share one Redis. Nothing connects at import: call
:func:`connect`.

Delivery is at least once (Dramatiq's Redis broker acknowledges a message only after its task
returned): a worker that dies keeps its messages in its own "acks" set; once its heartbeat is
older than ``heartbeat_timeout`` another worker's maintenance pass puts them back on the queue.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from evidence.redact import redact_url
from rightswatch.distributed.errors import BrokerUnavailable

REDIS_ENV = "RIGHTSWATCH_REDIS_URL"
NAMESPACE_ENV = "RIGHTSWATCH_REDIS_NAMESPACE"
DEFAULT_NAMESPACE = "rightswatch"
RESULT_TTL = timedelta(days=7)


def redis_url() -> str | None:
    """The Redis URL when distributed mode is on, else None."""
    return os.environ.get(REDIS_ENV) or None


def enabled() -> bool:
    """True when ``RIGHTSWATCH_REDIS_URL`` is set: the monitoring run should go distributed."""
    return redis_url() is not None


def redact(url: str) -> str:
    """The URL with any password (and token parameter) hidden."""
    return redact_url(url)


@dataclass(frozen=True)
class BrokerOptions:
    """How quickly a dead worker's messages come back, and how often that is checked."""

    heartbeat_timeout_ms: int = 60_000  # a worker silent this long is dead
    maintenance_chance: int = 10_000  # per 1,000,000 Redis commands run the requeue pass (1 %)
    dead_message_ttl_ms: int = 7 * 24 * 3600 * 1000


@dataclass
class Connection:
    """A Dramatiq broker and a plain Redis client on the same server and namespace."""

    url: str
    namespace: str
    broker: RedisBroker
    client: redis.Redis

    def close(self) -> None:
        self.broker.close()
        self.client.close()


def connect(
    url: str | None = None,
    *,
    namespace: str | None = None,
    options: BrokerOptions | None = None,
) -> Connection:
    """Connect to Redis (``url`` or ``RIGHTSWATCH_REDIS_URL``) and make it Dramatiq's broker."""
    url = url or redis_url()
    if url is None:
        raise BrokerUnavailable("(unset)", f"set {REDIS_ENV} to a redis:// URL")
    namespace = namespace or os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
    opts = options or BrokerOptions()
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        client.close()
        raise BrokerUnavailable(redact(url), str(exc).splitlines()[0]) from exc
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        namespace=namespace,
        heartbeat_timeout=opts.heartbeat_timeout_ms,
        maintenance_chance=opts.maintenance_chance,
        dead_message_ttl=opts.dead_message_ttl_ms,
    )
    broker.add_middleware(CurrentMessage())
    dramatiq.set_broker(broker)
    return Connection(url=url, namespace=namespace, broker=broker, client=client)


class ResultBoard:
    """Finished tasks post their result here under one key per batch (a Redis hash).

    A field is written with HSETNX, so a redelivered task that finishes again does not
    replace the first result; the coordinator reads the hash until every field is there.
    """

    def __init__(self, conn: Connection, batch: str) -> None:
        self.client = conn.client
        self.key_suffix = batch
        self.key = f"{conn.namespace}:results:{batch}"

    def post(self, field: str, value: Mapping[str, Any]) -> bool:
        """Record ``value`` for ``field``; False when a result was already there."""
        added = bool(self.client.hsetnx(self.key, field, json.dumps(value, default=str)))
        self.client.expire(self.key, int(RESULT_TTL.total_seconds()))
        return added

    def has(self, field: str) -> bool:
        return bool(self.client.hexists(self.key, field))

    def read(self) -> dict[str, dict[str, Any]]:
        raw = self.client.hgetall(self.key)
        return {_text(k): json.loads(v) for k, v in raw.items()}

    def count(self) -> int:
        return int(self.client.hlen(self.key))

    def clear(self) -> None:
        self.client.delete(self.key)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

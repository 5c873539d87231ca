"""A worker process: consume crawl and capture tasks from Redis until told to stop.

Run one per core on as many machines as needed (``rightswatch worker``); each consumes the
queues it is given with ``threads`` tasks at a time. SIGTERM or SIGINT stops it: it takes no
new task, puts its prefetched messages back, and waits ``shutdown_timeout_s`` for running
tasks; a task still running then is redelivered to another worker once this one's heartbeat
is older than the heartbeat timeout (at-least-once delivery).
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType

import dramatiq

from rightswatch.distributed.actors import CAPTURE_QUEUE, CRAWL_QUEUE, WorkerContext, register
from rightswatch.distributed.broker import BrokerOptions, connect, redact

log = logging.getLogger(__name__)
QUEUES = (CRAWL_QUEUE, CAPTURE_QUEUE)


@dataclass(frozen=True)
class WorkerOptions:
    redis_url: str | None = None  # default: $RIGHTSWATCH_REDIS_URL
    namespace: str | None = None  # default: $RIGHTSWATCH_REDIS_NAMESPACE or "rightswatch"
    queues: tuple[str, ...] = QUEUES
    threads: int = 1  # tasks run at once (each crawl shard is a child process)
    broker: BrokerOptions = field(default_factory=BrokerOptions)
    shutdown_timeout_s: float = 30.0


def run_worker(
    options: WorkerOptions, context: WorkerContext, stop: threading.Event | None = None
) -> None:
    """Consume tasks until ``stop`` is set or the process gets SIGTERM/SIGINT."""
    conn = connect(options.redis_url, namespace=options.namespace, options=options.broker)
    register(conn, context)
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the running tasks", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    worker = dramatiq.Worker(
        conn.broker, queues=set(options.queues), worker_threads=options.threads
    )
    worker.start()
    log.info(
        "worker consuming %s from %s (namespace %s, %d thread(s))",
        ",".join(options.queues),
        redact(conn.url),
        conn.namespace,
        options.threads,
    )
    try:
        stop.wait()
    finally:
        worker.stop(timeout=int(options.shutdown_timeout_s * 1000))
        conn.close()
        context.close()

"""``rightswatch worker``: run crawl shards and captures queued on Redis (distributed mode)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from evidence.redact import redact_logs
from evidence.store import resolve_url
from rightswatch.commands.options import config_option, open_config
from rightswatch.distributed.actors import WorkerContext
from rightswatch.distributed.broker import BrokerOptions
from rightswatch.distributed.errors import DistributedError
from rightswatch.distributed.messages import load_secret
from rightswatch.distributed.worker import QUEUES, WorkerOptions, run_worker
from rightswatch.evidence_settings import evidence_settings


@click.command()
@config_option
@click.option("--redis", "redis_url", metavar="URL", default=None,
              help="Redis URL [default: $RIGHTSWATCH_REDIS_URL].")  # fmt: skip
@click.option("--queues", default=",".join(QUEUES), show_default=True,
              help="Comma-separated queues to consume (crawl, capture).")  # fmt: skip
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Tasks run at once by this process.")  # fmt: skip
@click.option("--output", "output_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Folder for crawl shards' WARC files and logs "
              "[default: the config's evidence folder /crawls, else the plan's].")  # fmt: skip
@click.option("--heartbeat-timeout", type=click.FloatRange(min=1), default=60.0,
              show_default=True, help="Seconds of silence after which a worker counts as dead "
              "and its tasks are redelivered.")  # fmt: skip
@click.option("--maintenance-per-million", type=click.IntRange(1, 1_000_000), default=10_000,
              show_default=True, help="Redis commands per million that run the requeue pass "
              "for dead workers' tasks.")  # fmt: skip
def worker(
    config_file: Path | None,
    redis_url: str | None,
    queues: str,
    threads: int,
    output_dir: Path | None,
    heartbeat_timeout: float,
    maintenance_per_million: int,
) -> None:
    """Run queued crawl shards and captures until SIGTERM (distributed mode).

    Start as many as needed, on any machine that reaches Redis and the PostgreSQL case file.
    Messages carry ids only and must be signed with the secret shared by the coordinator and
    every worker ($RIGHTSWATCH_WORKER_SECRET or $RIGHTSWATCH_WORKER_SECRET_FILE); the worker
    takes the case file ($RIGHTSWATCH_DATABASE_URL or the config's [database] url), folders and
    platforms from its own configuration. Capture tasks need the [evidence] section (keys, TSA)
    and Chromium.

    RIGHTSWATCH_REDIS_URL=redis://queue:6379/0 RIGHTSWATCH_WORKER_SECRET_FILE=/etc/rw/secret \
    rightswatch worker --config watch.toml --threads 2
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    redact_logs()
    config = open_config(config_file)
    assert config is not None
    secret = load_secret()
    chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown or not chosen:
        named = ", ".join(unknown) or "(none)"
        raise DistributedError(f"--queues: unknown queue {named} (known: crawl, capture)")
    context = WorkerContext(
        secret=secret,
        database_url=resolve_url(None, config.database.url),
        config=config,
        output_root=output_dir or config.resolve(config.evidence.folder) / "crawls",
        evidence=evidence_settings(config),
    )
    options = WorkerOptions(
        redis_url=redis_url,
        queues=chosen,
        threads=threads,
        broker=BrokerOptions(
            heartbeat_timeout_ms=int(heartbeat_timeout * 1000),
            maintenance_chance=maintenance_per_million,
        ),
    )
    run_worker(options, context)

"""``rightswatch schedule``: the long-running scheduler and its jobs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import scheduler
from evidence.redact import redact_logs
from evidence.store import DATABASE_ENV, redact
from rightswatch.commands.options import config_option, database_option, open_config, open_store
from rightswatch.config import WatchConfig, config_path
from rightswatch.errors import ConfigError

JOB_FUNCS = {
    "monitor": "rightswatch.monitor:scheduled_run",
    "recheck": "rightswatch.monitor:scheduled_recheck",
}


def job_specs(config: WatchConfig, config_file: Path, database_url: str) -> list[scheduler.JobSpec]:
    """One job per [[schedules]] entry of the configuration.

    A job's arguments are stored in the case file's job table, so a database URL that carries
    a password is not among them: the job finds it where the scheduler did (the environment,
    which :func:`_setup` fills, or the config's [database] url).
    """
    stored = None if _has_password(database_url) else database_url
    kwargs = {"config_path": str(config_file.resolve()), "database_url": stored}
    return [
        scheduler.JobSpec(
            id=f"{config.client.name}:{s.name}", func=JOB_FUNCS[s.job], cron=s.cron, kwargs=kwargs
        )
        for s in config.schedules
    ]


def _setup(
    config_file: Path | None, database_url: str | None
) -> tuple[list[scheduler.JobSpec], scheduler.SchedulerOptions]:
    path = config_path(config_file)
    config = open_config(path)
    assert config is not None
    store = open_store(database_url, config)  # migrations, and a clear error when unreachable
    url = store.url
    store.dispose()
    if _has_password(url):  # jobs run in this process: they find the URL here, not in the DB
        os.environ[DATABASE_ENV] = url
    return job_specs(config, path, url), scheduler.SchedulerOptions(database_url=url)


def _has_password(url: str) -> bool:
    try:
        return make_url(url).password is not None
    except ArgumentError:
        return False


@click.group()
def schedule() -> None:
    """Run monitoring and rechecks on the configured cron schedules."""


@schedule.command("start")
@config_option
@database_option
def start(config_file: Path | None, database_url: str | None) -> None:
    """Start the scheduler in the foreground (until SIGTERM or Ctrl-C).

    Jobs live in the case-file database and survive restarts; runs missed while it was down
    run once on start (within the grace time). Run it under systemd with Restart=always:

        rightswatch schedule start --config /etc/rightswatch/watch.toml
    """
    specs, options = _setup(config_file, database_url)
    if not specs:
        raise ConfigError("no [[schedules]] in the configuration: nothing to run")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    redact_logs()
    console = Console(stderr=True)
    console.print(f"scheduler on {redact(options.database_url)}: {len(specs)} job(s)")

    def started(s: object) -> None:
        for job in scheduler.list_jobs(options):
            console.print(f"  {job.id}: next run {job.next_run:%Y-%m-%d %H:%M} UTC")

    scheduler.serve(options, specs, on_started=started)


@schedule.command("list")
@config_option
@database_option
def list_(config_file: Path | None, database_url: str | None) -> None:
    """List the configured jobs with their next run time.

    rightswatch schedule list
    """
    specs, options = _setup(config_file, database_url)
    stored = {j.id: j for j in scheduler.list_jobs(options)}
    table = Table("job", "runs", "cron (UTC)", "next run (UTC)")
    for spec in specs:
        job = stored.get(spec.id)
        nxt = f"{job.next_run:%Y-%m-%d %H:%M}" if job and job.next_run else "(not started yet)"
        table.add_row(spec.id, spec.func.rsplit(":", 1)[1], spec.cron or "", nxt)
    Console().print(table)


@schedule.command("run-now")
@click.argument("job")
@config_option
@database_option
def run_now(job: str, config_file: Path | None, database_url: str | None) -> None:
    """Run one configured job now, in this process (JOB is the schedule's name).

    rightswatch schedule run-now nightly
    """
    specs, _options = _setup(config_file, database_url)
    matches = [s for s in specs if s.id.split(":", 1)[1] == job or s.id == job]
    if not matches:
        names = ", ".join(s.id.split(":", 1)[1] for s in specs) or "none"
        raise ConfigError(f"no schedule named {job!r} (configured: {names})")
    result = scheduler.run_now(matches[0])
    Console().print(
        f"{job}: done ({result.get('status', 'ok') if isinstance(result, dict) else 'ok'})"
    )

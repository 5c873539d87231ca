"""``rightswatch crawl``: run the configured platforms' spiders once, with live progress."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from crawler.crawl import CrawlReport, Progress, run_crawl
from crawler.exceptions import CrawlFailed
from rightswatch.commands.options import config_option, database_option, open_config, open_store
from rightswatch.config import config_path
from rightswatch.crawling import plan_from_config
from rightswatch.library import sync_config
from rightswatch.scan import refresh_fingerprints


def _progress_table(rows: dict[str, Progress]) -> Table:
    table = Table("platform", "pages", "items", "errors", "state", title="crawling")
    for name, p in sorted(rows.items()):
        table.add_row(name, str(p.pages), str(p.items), str(p.errors), "done" if p.done else "…")
    return table


def _summary(report: CrawlReport) -> Table:
    table = Table(
        "platform",
        "finish",
        "pages",
        "new",
        "updated",
        "unchanged",
        "failed",
        "blocked",
        "findings",
        title=f"crawl run {report.run_id}: {report.status.value}",
    )
    for p in report.platforms:
        c = p.counters
        table.add_row(
            p.name,
            p.finish_reason,
            str(c.get("pages", 0)),
            str(c.get("candidates_new", 0)),
            str(c.get("candidates_updated", 0)),
            str(c.get("candidates_unchanged", 0)),
            str(c.get("failed", 0)),
            str(c.get("blocked", 0)),
            str(c.get("findings_new", 0)),
        )
    return table


@click.command()
@click.argument("platforms", nargs=-1)
@config_option
@database_option
@click.option("--full", is_flag=True, help="Page every listing to its end (no incremental stop).")
@click.option(
    "--max-items", type=click.IntRange(min=1), default=None, help="At most N items per platform."
)
def crawl(
    platforms: tuple[str, ...],
    config_file: Path | None,
    database_url: str | None,
    full: bool,
    max_items: int | None,
) -> None:
    """Crawl the configured platforms (all enabled ones, or those named) once.

    Every response is archived in the run's WARC; candidates, failures and findings go to the
    case file. Exits non-zero when the crawl failed.

    rightswatch crawl civitai --config watch.toml --max-items 200
    """
    config = open_config(config_file)
    assert config is not None
    store = open_store(database_url, config)
    plan = plan_from_config(config, store.url, platforms=platforms, full=full, max_items=max_items)
    sync_config(store, config)
    refresh_fingerprints(store)
    store.dispose()
    console = Console(stderr=True)
    rows: dict[str, Progress] = {}
    with Live(_progress_table(rows), console=console, refresh_per_second=4, transient=True) as live:

        def show(progress: Progress) -> None:
            rows[progress.platform] = progress
            live.update(_progress_table(rows))

        report = run_crawl(plan, on_progress=show, config_path=str(config_path(config_file)))
    Console().print(_summary(report))
    for platform in report.platforms:
        if platform.error:
            console.print(f"[red]{platform.name}: {platform.error}[/]")
        for note in platform.notes:
            console.print(f"{platform.name}: {note}")
        for wait in platform.waits:
            console.print(
                f"{platform.name}: {wait['host']} {wait['kind']} {wait['seconds']} s "
                f"({wait['reason']})"
            )
    if report.error:
        console.print(f"[red]{report.error}[/]")
    if not report.ok:
        raise CrawlFailed(
            f"crawl run {report.run_id} {report.status.value}; log: {report.log_file}"
        )

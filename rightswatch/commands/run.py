"""``rightswatch run`` and ``rightswatch recheck``: the monitoring job and its follow-up."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from crawler.crawl import Progress
from rightswatch.commands.options import config_option, database_option, open_config, open_store
from rightswatch.config import config_path
from rightswatch.errors import RightswatchError
from rightswatch.monitor import RunOptions, run_monitoring
from rightswatch.recheck import RecheckSummary, run_rechecks
from rightswatch.runsummary import RunSummary


class RunFailed(RightswatchError):
    """The monitoring run ended as failed or interrupted."""


def _summary_table(s: RunSummary) -> Table:
    table = Table("character on platform", "new findings", title=f"run {s.run_id}: {s.status}")
    for key, count in sorted(s.by_character_platform.items()):
        table.add_row(key, str(count))
    if not s.by_character_platform:
        table.add_row("(nothing new)", "0")
    return table


def print_summary(console: Console, s: RunSummary) -> None:
    console.print(_summary_table(s))
    console.print(
        f"{len(s.new_findings)} new finding(s), {s.review_waiting} waiting for review; "
        f"{s.captures_sealed} capture(s) sealed, {s.captures_failed} failed; "
        f"{len(s.failures)} failure(s); {s.seconds:.0f} s"
    )
    for failure in s.failures[:10]:
        console.print(f"  [yellow]failure:[/] {failure}", soft_wrap=True)
    if len(s.failures) > 10:
        console.print(f"  … and {len(s.failures) - 10} more in the run report")
    if s.top_finding:
        console.print(f"top finding: {s.top_finding.finding_id}", soft_wrap=True)
        console.print(f"  sealed capture: {s.top_finding.capture}", soft_wrap=True)
        console.print(f"  bundle: {s.top_finding.bundle or 'export failed'}", soft_wrap=True)
        for report in s.top_finding.reports:
            console.print(f"  report: {report}", soft_wrap=True)
    console.print(f"run report: {s.report_markdown}", soft_wrap=True)
    for failure in s.notifications_failed:
        console.print(f"[yellow]notification failed:[/] {failure}", soft_wrap=True)


@click.command("run")
@config_option
@database_option
@click.option("--platform", "-p", "platforms", multiple=True, help="Only this platform (repeat).")
@click.option("--full", is_flag=True, help="Page every listing to its end (no incremental stop).")
@click.option("--max-items", type=click.IntRange(min=1), default=None, help="Per platform.")
@click.option("--no-capture", is_flag=True, help="Record findings but capture no evidence.")
@click.option(
    "--max-captures",
    type=click.IntRange(min=0),
    default=None,
    help="Seal at most N new findings [default: evidence.max_captures_per_run].",
)
@click.option("--no-notify", is_flag=True, help="Send no webhook or e-mail digest.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
def run(
    config_file: Path | None,
    database_url: str | None,
    platforms: tuple[str, ...],
    full: bool,
    max_items: int | None,
    no_capture: bool,
    max_captures: int | None,
    no_notify: bool,
    as_json: bool,
) -> None:
    """Run one monitoring job end to end: references, crawl, match, evidence, digest.

    New findings at or above the capture threshold get sealed evidence; findings in the review
    band wait for a person. Example:

        rightswatch run --config watch.toml
    """
    path = config_path(config_file)
    config = open_config(path)
    store = open_store(database_url, config)
    console = Console(stderr=True)
    options = RunOptions(
        platforms=platforms,
        full=full,
        max_items=max_items,
        capture=not no_capture,
        max_captures=max_captures,
        notify=not no_notify,
    )
    rows: dict[str, Progress] = {}

    def table() -> Table:
        t = Table("platform", "pages", "items", "errors", title="crawling")
        for name, p in sorted(rows.items()):
            t.add_row(name, str(p.pages), str(p.items), str(p.errors))
        return t

    with Live(table(), console=console, refresh_per_second=4, transient=True) as live:

        def progress(p: Progress) -> None:
            rows[p.platform] = p
            live.update(table())

        def say(text: str) -> None:
            console.print(text, soft_wrap=True)

        summary = run_monitoring(path, store, options, say=say, on_progress=progress)
    store.dispose()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        print_summary(Console(), summary)
    if summary.status in ("failed", "interrupted"):
        raise RunFailed(f"run {summary.run_id} {summary.status}; see {summary.report_markdown}")


@click.command("recheck")
@config_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def recheck(config_file: Path | None, database_url: str | None, as_json: bool) -> None:
    """Re-capture confirmed and noticed findings that are due, proving presence or removal.

    rightswatch recheck --config watch.toml
    """
    path = config_path(config_file)
    store = open_store(database_url, open_config(path))
    summary: RecheckSummary = run_rechecks(path, store, say=Console(stderr=True).print)
    store.dispose()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(
        f"{summary.checked} rechecked: {summary.present} still online, "
        f"{len(summary.removed)} removed, {len(summary.persisting)} persisting after notice, "
        f"{len(summary.failed)} failed"
    )
    for platform, times in summary.response_hours.items():
        console.print(
            f"  {platform}: {times['removed']} removed after notice, median "
            f"{times['median_hours']} h, slowest {times['max_hours']} h"
        )
    for failure in summary.failed:
        console.print(f"  [yellow]failed:[/] {failure}", soft_wrap=True)

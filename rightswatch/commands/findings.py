"""``rightswatch findings``: what the crawl flagged, for people to review."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from evidence.kinds import FindingStatus
from evidence.queries.findings import finding_rows
from rightswatch.commands.options import (
    config_option,
    database_option,
    json_option,
    open_config,
    open_store,
)


@click.group()
def findings() -> None:
    """Findings: candidates that resemble a client's character."""


@findings.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in FindingStatus]),
    default=None,
    help="Only findings in this status.",
)
@click.option("--character", "-c", default=None, help="Only this character.")
@click.option("--platform", "-p", default=None, help="Only this platform.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@json_option
@config_option
@database_option
def list_(
    status: str | None,
    character: str | None,
    platform: str | None,
    limit: int | None,
    as_json: bool,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """List findings, highest score first.

    rightswatch findings list --status new --json
    """
    store = open_store(database_url, open_config(config_file, required=False))
    rows = finding_rows(
        store,
        status=FindingStatus(status) if status else None,
        character=character,
        platform=platform,
        limit=limit,
    )
    store.dispose()
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2))
        return
    table = Table("id", "score", "decision", "status", "character", "platform", "kind", "title")
    for r in rows:
        table.add_row(
            str(r.id),
            f"{r.score:.2f}",
            r.decision.value,
            r.status.value,
            r.character,
            r.platform,
            r.kind.value,
            r.title[:40],
        )
    console = Console()
    console.print(table)
    console.print(f"{len(rows)} finding{'s' if len(rows) != 1 else ''}")


def _decide(
    finding_id: int,
    target: FindingStatus,
    reason: str | None,
    reviewer: str,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    from evidence.exceptions import DecisionError, NotFound
    from evidence.lifecycle import Cause, decide

    store = open_store(database_url, open_config(config_file, required=False))
    try:
        change = decide(
            store, finding_id, target, cause=Cause.REVIEW, actor=reviewer, reason=reason,
            details={"decision": target.value, "via": "command line"},
        )  # fmt: skip
    except (DecisionError, NotFound) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.dispose()
    click.echo(
        f"finding {finding_id}: {change.previous.value} -> {change.status.value} "
        f"by {reviewer} (custody entry {change.entry.seq})"
    )


reviewer_option = click.option(
    "--reviewer", required=True, help="Who decides (recorded in the custody log)."
)


@findings.command("confirm")
@click.argument("finding_id", type=int)
@click.option("--reason", default=None, help="Why it resembles the character (optional).")
@reviewer_option
@config_option
@database_option
def confirm(
    finding_id: int,
    reason: str | None,
    reviewer: str,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Confirm that a finding resembles its character (custody entry names you and why).

    rightswatch findings confirm 42 --reviewer "Jane Doe" --reason "same face and costume"
    """
    _decide(finding_id, FindingStatus.CONFIRMED, reason, reviewer, config_file, database_url)


@findings.command("dismiss")
@click.argument("finding_id", type=int)
@click.option("--reason", required=True, help="Why it does not resemble the character.")
@reviewer_option
@config_option
@database_option
def dismiss(
    finding_id: int,
    reason: str,
    reviewer: str,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Dismiss a finding with a reason (custody entry names you and why).

    rightswatch findings dismiss 42 --reviewer "Jane Doe" --reason "different character"
    """
    _decide(finding_id, FindingStatus.DISMISSED, reason, reviewer, config_file, database_url)

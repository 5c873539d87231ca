"""``rightswatch scan``: judge local images and LoRA files against the client's characters."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rightswatch.commands.options import config_option, database_option, open_config, open_store
from rightswatch.errors import ConfigError
from rightswatch.scan import ScanResult, iter_scan_files, scan_spec
from rightswatch.scanpool import ScanPool

PROGRESS_FROM = 20


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    help="Processes [default: one per usable CPU when the files are many enough].",
)
@config_option
@database_option
def scan(
    paths: tuple[Path, ...],
    as_json: bool,
    workers: int,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Judge local images and .safetensors files against the characters.

    Folders are scanned recursively.

    Each file gets a decision (flag, review, ignore), the character and reference it resembles,
    a score and the reasons; a file that cannot be read is reported and the scan goes on.
    Example:

        rightswatch scan downloads/ model.safetensors --json
    """
    config = open_config(config_file)
    if config is None:
        raise ConfigError("scan needs a watch.toml (create one with 'rightswatch init')")
    store = open_store(database_url, config)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    spec = scan_spec(store, config)
    store.dispose()
    for problem in spec.problems:
        err.print(f"[yellow]reference skipped[/] {problem}")
    if not spec.fingerprints:
        err.print("[yellow]no reference images in the library: only text signals are used[/]")
    files = iter_scan_files(paths)
    console = Console(stderr=as_json)
    table = Table("file", "decision", "character", "reference", "score", "reason")
    # the pool's workers start here, before the progress bar's thread
    with (
        ScanPool(spec, workers=workers, files=len(files)) as pool,
        Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=len(files) < PROGRESS_FROM,
        ) as bar,
    ):
        task = bar.add_task("scan", total=len(files))
        for result in pool.map([str(p) for p in files]):
            bar.advance(task)
            if as_json:
                click.echo(json.dumps(result.to_json(), ensure_ascii=False))
            else:
                _add_row(table, result)
    if not as_json:
        console.print(table)


def _add_row(table: Table, result: ScanResult) -> None:
    v = result.verdict
    if v is None:
        table.add_row(result.path, "[red]error[/]", "", "", "", result.error or "")
        return
    colour = {"flag": "red", "review": "yellow"}.get(v.decision.value, "dim")
    table.add_row(
        result.path,
        f"[{colour}]{v.decision.value}[/]",
        v.character or "",
        v.reference or "",
        f"{v.score:.2f}",
        v.reasons[0].sentence if v.reasons else "",
    )

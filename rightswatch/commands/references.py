"""``rightswatch references``: the client's reference images."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from evidence.queries.references import listed_references
from rightswatch.commands.options import (
    config_option,
    database_option,
    json_option,
    open_config,
    open_store,
)
from rightswatch.library import (
    DEFAULT_CLIENT,
    AddResult,
    add_references,
    iter_image_files,
    sync_config,
)


@click.group()
def references() -> None:
    """Reference images of the client's characters."""


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _report(console: Console, result: AddResult) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for exc in result.errors:
        err.print(f"[yellow]skipped[/] {exc}")
    console.print(
        f"{len(result.added)} added, {len(result.duplicates)} already in the library, "
        f"{len(result.errors)} skipped"
    )


@references.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--character", "-c", required=True, help="The character these images show.")
@config_option
@database_option
def add(
    paths: tuple[Path, ...], character: str, config_file: Path | None, database_url: str | None
) -> None:
    """Add reference images (files or folders) for one character.

    Unreadable or damaged files are reported and skipped; an image already in the library
    (same SHA-256) is not stored twice. Example:

        rightswatch references add refs/hero/*.png --character Hero
    """
    config = open_config(config_file, required=False)
    store = open_store(database_url, config)
    console = Console()
    client = config.client.name if config is not None else DEFAULT_CLIENT
    files = iter_image_files(paths)
    with _progress(console) as bar:
        task = bar.add_task("hashing", total=len(files))
        result = add_references(
            store, character, files, client=client, progress=lambda _p: bar.advance(task)
        )
    _report(console, result)
    store.dispose()


@references.command("sync")
@config_option
@database_option
def sync(config_file: Path | None, database_url: str | None) -> None:
    """Mirror watch.toml's characters and platforms into the case file and take in every
    reference folder it names.

        rightswatch references sync --config watch.toml
    """
    config = open_config(config_file)
    assert config is not None  # required=True never gives None
    store = open_store(database_url, config)
    console = Console()
    folders = [config.resolve(p) for c in config.characters for p in c.references]
    total = len(iter_image_files(p for p in folders if p.exists()))
    with _progress(console) as bar:
        task = bar.add_task("hashing", total=total)
        result = sync_config(store, config, progress=lambda _p: bar.advance(task))
    console.print(f"{result.characters} characters, {result.platforms} platforms")
    _report(console, result.references)
    store.dispose()


@references.command("list")
@click.option("--character", "-c", default=None, help="Only this character's images.")
@json_option
@config_option
@database_option
def list_(
    character: str | None, as_json: bool, config_file: Path | None, database_url: str | None
) -> None:
    """List reference images with their character, size and digest.

    rightswatch references list --json
    """
    store = open_store(database_url, open_config(config_file, required=False))
    rows = [
        {
            "client": ref.client,
            "character": ref.character,
            "path": ref.path,
            "sha256": ref.sha256,
            "size_bytes": ref.size_bytes,
            "width": ref.width,
            "height": ref.height,
            **_engine_hashes(ref.fingerprint),
        }
        for ref in listed_references(store, character)
    ]
    store.dispose()
    console = Console()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("character", "file", "size", "pixels", "sha256", title="Reference images")
    for row in rows:
        table.add_row(
            str(row["character"]),
            Path(str(row["path"])).name,
            f"{row['size_bytes']:,}",
            f"{row['width']}x{row['height']}",
            str(row["sha256"])[:16] + "…",
        )
    console.print(table)
    console.print(f"{len(rows)} reference image{'s' if len(rows) != 1 else ''}")


def _engine_hashes(fingerprint: Mapping[str, Any] | None) -> dict[str, str | None]:
    """The engine's PDQ and pHash of the reference as stored (upright orientation)."""
    upright = ((fingerprint or {}).get("orientations") or {}).get("original") or {}
    return {"pdq": upright.get("pdq"), "phash": upright.get("phash")}

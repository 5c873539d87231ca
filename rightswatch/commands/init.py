"""``rightswatch init``: write a commented example watch.toml and create the case file."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import click
from rich.console import Console

from evidence.store import redact
from rightswatch.commands.options import database_option, open_store


def example_config() -> str:
    """The commented example configuration shipped with the package."""
    return files("rightswatch").joinpath("example_watch.toml").read_text(encoding="utf-8")


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("watch.toml"),
    show_default=True,
    help="Where to write the configuration.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing configuration.")
@database_option
def init(config_file: Path, force: bool, database_url: str | None) -> None:
    """Write an example watch.toml and create the case file.

    Example:

        rightswatch init && $EDITOR watch.toml
    """
    console = Console()
    if config_file.exists() and not force:
        console.print(f"{config_file} exists; left as it is (use --force to overwrite)")
    else:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(example_config(), encoding="utf-8")
        console.print(f"wrote {config_file}")
    store = open_store(database_url)
    console.print(f"case file ready: {redact(store.url)}")
    store.dispose()

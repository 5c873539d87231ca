"""``rightswatch db``: the case-file schema."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from evidence.store import redact
from rightswatch.commands.options import config_option, database_option, open_config, open_store


@click.group()
def db() -> None:
    """Manage the case-file database schema.

    SQLite in ./rightswatch-data by default; PostgreSQL or any SQLAlchemy URL by --database.
    """


@db.command()
@config_option
@database_option
def upgrade(config_file: Path | None, database_url: str | None) -> None:
    """Apply pending schema migrations.

    Migrations also run on first use; this command makes the step explicit, e.g. before
    pointing several workers at one PostgreSQL database:

        rightswatch db upgrade --database postgresql+psycopg://rw@db/rightswatch
    """
    store = open_store(database_url, open_config(config_file, required=False))
    Console().print(f"{redact(store.url)} is at revision {store.current_revision()}")
    store.dispose()

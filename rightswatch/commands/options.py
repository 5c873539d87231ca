"""Options shared by many commands, defined once, and the objects they open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evidence.store import Store, resolve_url
from rightswatch.config import WatchConfig, config_path, load_config

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    """``--config PATH`` (default: $RIGHTSWATCH_CONFIG, then ./watch.toml)."""
    return click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="The watch configuration [default: $RIGHTSWATCH_CONFIG or ./watch.toml].",
    )(func)


def database_option(func: F) -> F:
    """``--database URL`` (default: $RIGHTSWATCH_DATABASE_URL, then the config, then SQLite)."""
    return click.option(
        "--database",
        "database_url",
        metavar="URL",
        default=None,
        help="SQLAlchemy URL of the case file [default: $RIGHTSWATCH_DATABASE_URL, the "
        "config's [database] url, or sqlite:///rightswatch-data/rightswatch.db].",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def open_config(config_file: Path | None, *, required: bool = True) -> WatchConfig | None:
    """The config, or None when it is optional and the default file does not exist."""
    path = config_path(config_file)
    if not required and config_file is None and not path.exists():
        return None
    return load_config(path)


def open_store(database_url: str | None, config: WatchConfig | None = None) -> Store:
    """Open the case file: --database, then the environment, then the config, then SQLite."""
    configured = config.database.url if config is not None else None
    return Store.open(resolve_url(database_url, configured))

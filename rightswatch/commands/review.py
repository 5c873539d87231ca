"""``rightswatch review``: serve the review dashboard."""

from __future__ import annotations

import os
from pathlib import Path

import click

from rightswatch.commands.options import config_option, database_option, open_config, open_store
from rightswatch.config import EvidenceConfig, config_path
from rightswatch.review.settings import DEFAULT_HOST, DEFAULT_PORT, TOKEN_ENV, ReviewSettings


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--token",
    default=None,
    help=f"Sign-in token; required for a non-loopback --host [default: ${TOKEN_ENV}].",
)
@click.option("--reviewer", default=None, help="Name to record decisions under, skipping sign-in.")
@click.option(
    "--evidence",
    "evidence_folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Evidence folder [default: the config's evidence.folder].",
)
@config_option
@database_option
def review(
    host: str,
    port: int,
    token: str | None,
    reviewer: str | None,
    evidence_folder: Path | None,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Serve the review dashboard: triage findings, decide, inspect and export evidence.

    rightswatch review --port 8765 --reviewer "A. Lawyer"
    """
    from rightswatch.review.security import check_bind
    from rightswatch.review.server import serve

    token = token or os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    config = open_config(config_file, required=False)
    evidence = config.evidence if config is not None else EvidenceConfig()
    root = evidence_folder or (config.resolve(evidence.folder) if config else evidence.folder)
    settings = ReviewSettings(
        store=open_store(database_url, config),
        evidence_root=root,
        config_path=None if config is None else config_path(config_file).resolve(),
        config=config,
        token=token,
        reviewer=reviewer,
        host=host,
        port=port,
    )
    serve(settings)

"""``rightswatch review``: serve the review dashboard."""

from __future__ import annotations

from pathlib import Path

import click

from rightswatch.commands.options import config_option, database_option, open_config, open_store
from rightswatch.config import EvidenceConfig, config_path
from rightswatch.review.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    TOKEN_ENV,
    TOKEN_FILE_ENV,
    ReviewSettings,
    load_token,
)


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"File holding the sign-in token (owner-only, at least 32 characters); required for "
    f"a non-loopback --host [default: ${TOKEN_FILE_ENV}, then ${TOKEN_ENV}].",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark the session cookie Secure even on plain http (a TLS proxy in front that does "
    "not send X-Forwarded-Proto).",
)
@click.option(
    "--trusted-proxy",
    default="127.0.0.1",
    show_default=True,
    help="Address of the TLS-terminating reverse proxy whose X-Forwarded-Proto is believed.",
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
    token_file: Path | None,
    secure_cookies: bool,
    trusted_proxy: str,
    reviewer: str | None,
    evidence_folder: Path | None,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Serve the review dashboard: triage findings, decide, inspect and export evidence.

    rightswatch review --port 8765 --reviewer "A. Lawyer"

    Shared use: put a TLS-terminating reverse proxy in front (docs/review.md) and give a token
    in a file or the environment, never on the command line:

    rightswatch review --host 127.0.0.1 --token-file /etc/rightswatch/review-token
    """
    from rightswatch.review.security import check_bind
    from rightswatch.review.server import serve

    token = load_token(token_file)
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
        secure_cookies=secure_cookies,
        trusted_proxy=trusted_proxy,
    )
    serve(settings)

"""The ``rightswatch`` command: thin glue around library calls.

Library code raises domain errors; :func:`main` is the one place that turns them into a single
line on stderr and an exit status (2 for a bad config or usage, 1 for everything else).
"""

from __future__ import annotations

import importlib
import sys

import click
from rich.console import Console

from rightswatch import __version__
from rightswatch.commands.crawl import crawl
from rightswatch.commands.db import db
from rightswatch.commands.evidence import COMMANDS as EVIDENCE_COMMANDS
from rightswatch.commands.findings import findings
from rightswatch.commands.init import init
from rightswatch.commands.references import references
from rightswatch.commands.review import review
from rightswatch.commands.run import recheck, run
from rightswatch.commands.sandbox import sandbox
from rightswatch.commands.scan import scan
from rightswatch.commands.schedule import schedule
from rightswatch.commands.worker import worker

# The root error of every package; resolved only when something went wrong.
USER_ERRORS = (
    "rightswatch.errors:RightswatchError",
    "evidence.exceptions:EvidenceError",
    "matching.exceptions:MatchingError",
    "crawler.exceptions:CrawlerError",
    "scheduler:SchedulerError",
    # a path the user named cannot be read or written (permissions, a file where a folder
    # should be, a full disk): the message names the path
    "builtins:OSError",
)


@click.group(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
        "terminal_width": 100,
    }
)
@click.version_option(__version__, "--version", prog_name="rightswatch")
def cli() -> None:
    """Find, flag and prove AI-platform look-alikes of a client's characters.

    Start with 'rightswatch init' to write watch.toml, add reference images with
    'rightswatch references add', then crawl, review and capture evidence.
    """


cli.add_command(init)
cli.add_command(references)
cli.add_command(findings)
cli.add_command(db)
for _command in EVIDENCE_COMMANDS:
    cli.add_command(_command)
cli.add_command(sandbox)
cli.add_command(scan)
cli.add_command(crawl)
cli.add_command(run)
cli.add_command(recheck)
cli.add_command(schedule)
cli.add_command(review)
cli.add_command(worker)


def _user_error_exit_code(exc: BaseException) -> int | None:
    for spec in USER_ERRORS:
        module_name, _, class_name = spec.partition(":")
        module = sys.modules.get(module_name)
        if module is None:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
        cls = getattr(module, class_name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return int(getattr(exc, "exit_code", 1))
    return None


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        # without standalone mode, click returns ctx.exit()'s code instead of raising
        returned = cli.main(args=argv, prog_name="rightswatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(130)
    except Exception as exc:
        code = _user_error_exit_code(exc)
        if code is None:
            raise
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]error:[/] {exc}", markup=True
        )
        sys.exit(code)
    sys.exit(returned if isinstance(returned, int) else 0)

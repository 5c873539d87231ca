"""Evidence commands: ``capture``, ``keys init``, ``verify``, ``export``, ``notice``.

Each is glue around one library call in the evidence package; settings come from the
[evidence] section of watch.toml (see :func:`evidence_settings`). The heavy evidence modules
(Playwright, reports) are imported inside the commands so ``rightswatch --help`` and every
other command start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from evidence.models import NoticeTemplate
from evidence.signing import generate_keypair
from rightswatch.commands.options import (
    config_option,
    database_option,
    json_option,
    open_config,
    open_store,
)
from rightswatch.config import EvidenceConfig, WatchConfig
from rightswatch.evidence_settings import evidence_settings

if TYPE_CHECKING:
    from evidence.capture import CaptureResult
    from evidence.trust import TrustAnchors


def public_key_path(private: Path) -> Path:
    return private.with_name(private.stem + ".pub.pem")


def _print_captures(results: list[CaptureResult]) -> bool:
    table = Table("capture", "outcome", "HTTP", "url", "directory / reason")
    for r in results:
        where = (
            str(r.directory) if r.sealed else f"{r.reason.value if r.reason else ''} {r.message}"
        )
        table.add_row(r.capture_id, r.outcome.value, str(r.status or ""), r.url, where)
    Console().print(table)
    return all(r.sealed for r in results)


@click.command()
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--placement",
    is_flag=True,
    help="Also seal the listing where the platform showed each finding, the item framed.",
)
@config_option
@database_option
def capture(
    targets: tuple[str, ...], placement: bool, config_file: Path | None, database_url: str | None
) -> None:
    """Capture and seal evidence of finding ids or URLs (exit 1 if any capture failed).

    A URL may be any public http(s) address, or a configured platform's own host; file:,
    private, loopback and link-local addresses are refused and nothing is sealed.

    rightswatch capture 42 43 --placement
    rightswatch capture https://example.com/item/7
    """
    from evidence.casefile import capture_findings, capture_page, default_options
    from evidence.prominence import capture_placement

    config = open_config(config_file)
    assert config is not None
    settings = evidence_settings(config)
    options = default_options(settings)
    store = open_store(database_url, config)
    try:
        ids = [int(t) for t in targets if t.isdigit()]
        urls = [t for t in targets if not t.isdigit()]
        results = capture_findings(store, ids, settings, options) if ids else []
        if placement:
            listed = [capture_placement(store, i, settings, options) for i in ids]
            results += [r for r in listed if r is not None]
        results += [capture_page(store, url, settings, options) for url in urls]
    finally:
        store.dispose()
    if not _print_captures(results):
        sys.exit(1)


@click.group()
def keys() -> None:
    """The operator's Ed25519 signing key."""


@keys.command("init")
@click.option(
    "--force", is_flag=True, help="Replace an existing key (earlier bundles keep theirs)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Private key file [default: [evidence] signing_key].",
)
@config_option
def keys_init(force: bool, out: Path | None, config_file: Path | None) -> None:
    """Create the signing key pair (private key mode 0600, public key beside it).

    rightswatch keys init
    """
    config = open_config(config_file, required=False)
    private = out or (
        config.resolve(config.evidence.signing_key) if config else EvidenceConfig().signing_key
    )
    pair = generate_keypair(private, public_key_path(private), force=force)
    console = Console()
    console.print(f"private key: {pair.private_path} (mode 0600)")
    console.print(f"public key:  {pair.public_path}")
    console.print(f"fingerprint: {pair.fingerprint}")
    if config is not None and out is None:
        _record(config, console)
    else:
        console.print("not recorded in a case file: run `rightswatch keys record` with a config")


def _record(config: WatchConfig, console: Console) -> None:
    from evidence.exceptions import EvidenceError
    from evidence.keyrecord import record_key

    try:
        record = record_key(evidence_settings(config))
    except EvidenceError as exc:
        console.print(f"[red]key not recorded[/]: {exc}; run `rightswatch keys record` later")
        sys.exit(1)
    console.print(
        f"recorded:    {record.directory} (timestamped {', '.join(record.tsa_times)}); "
        "publish the fingerprint outside the bundles (e.g. in your notices)"
    )


@keys.command("record")
@config_option
def keys_record(config_file: Path | None) -> None:
    """Timestamp the signing key's fingerprint and record it in the case file.

    rightswatch keys record
    """
    config = open_config(config_file)
    assert config is not None
    _record(config, Console())


def _trust(
    key_fingerprint: str | None,
    tsa_ca: tuple[Path, ...],
    tolerance: float | None,
    config_file: Path | None,
) -> TrustAnchors:
    """The verifier's own anchors: the options, else the configuration's (if one is found)."""
    from evidence.keyrecord import recorded_fingerprints
    from evidence.trust import DEFAULT_TOLERANCE_S, TrustAnchors

    config = open_config(config_file, required=False)
    if config is not None:
        settings = evidence_settings(config)
        if not tsa_ca:
            tsa_ca = settings.tsa_ca_files
        if key_fingerprint is None:
            recorded = recorded_fingerprints(settings.folder)
            key_fingerprint = recorded[-1] if len(recorded) == 1 else None
        if tolerance is None:
            tolerance = settings.time_tolerance_s
    return TrustAnchors.load(
        key_fingerprint=key_fingerprint,
        tsa_ca_files=tsa_ca,
        tolerance_s=DEFAULT_TOLERANCE_S if tolerance is None else tolerance,
    )


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--key-fingerprint",
    default=None,
    help="The operator's key fingerprint as published outside the bundle (first step).",
)
@click.option(
    "--tsa-ca",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="A TSA root certificate from your own trust store (repeat per TSA).",
)
@click.option(
    "--tolerance", type=float, default=None, help="Seconds capture times may lie from TSA time."
)
@json_option
@config_option
def verify(
    bundle: Path,
    key_fingerprint: str | None,
    tsa_ca: tuple[Path, ...],
    tolerance: float | None,
    as_json: bool,
    config_file: Path | None,
) -> None:
    """Verify a bundle (zip) or sealed capture folder; exit 0 only when every check passes.

    Anchored only with the published key fingerprint and the TSAs' roots from your own trust
    store (defaults: the configuration's recorded key and [evidence] tsa_ca_files).

    rightswatch verify case.zip --key-fingerprint 3f5a… --tsa-ca freetsa-root.pem
    """
    from evidence.exceptions import EvidenceError
    from evidence.verify import report_json, verify_bundle

    try:
        trust = _trust(key_fingerprint, tsa_ca, tolerance, config_file)
        report = verify_bundle(bundle, trust=trust)
    except EvidenceError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(report_json(report))
    else:
        table = Table("check", "file", "result", "detail")
        for c in report.checks:
            table.add_row(c.name, c.file, "[green]pass[/]" if c.ok else "[red]FAIL[/]", c.detail)
        console = Console()
        console.print(table)
        failed = len(report.problems)
        colour = "green" if report.ok else "red"
        console.print(
            f"{len(report.checks)} checks, {failed} failed: [{colour}]{report.verdict}[/]"
        )
    if not report.ok:
        sys.exit(1)


@click.command("export")
@click.argument("findings", nargs=-1, required=True, type=int)
@click.option("--out", required=True, help="Bundle destination: case.zip or file:///abs/case.zip")
@click.option("--no-report", is_flag=True, help="Skip the HTML/PDF court report.")
@config_option
@database_option
def export(
    findings: tuple[int, ...],
    out: str,
    no_report: bool,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Export findings with their sealed evidence as one self-verifying bundle.

    rightswatch export 42 43 --out case.zip
    """
    from evidence.bundle import export_bundle

    config = open_config(config_file)
    assert config is not None
    store = open_store(database_url, config)
    try:
        result = export_bundle(
            store, list(findings), out, evidence_settings(config), report=not no_report
        )
    finally:
        store.dispose()
    Console().print(
        f"wrote {result.uri}: {result.files} files, sha256 {result.sha256}, "
        f"manifest {result.manifest_sha256}"
    )


@click.command()
@click.argument("finding", type=int)
@click.option(
    "--template",
    type=click.Choice([t.value for t in NoticeTemplate]),
    required=True,
    help="civil-code-1195 (PRC) or dmca (US).",
)
@click.option("--recipient", default=None, help="Who the notice is addressed to.")
@json_option
@config_option
@database_option
def notice(
    finding: int,
    template: str,
    recipient: str | None,
    as_json: bool,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Draft a takedown notice for a confirmed finding from its sealed evidence.

    rightswatch notice 42 --template dmca
    """
    from evidence.notice import draft_notice

    config = open_config(config_file)
    assert config is not None
    store = open_store(database_url, config)
    try:
        result = draft_notice(
            store, finding, template, evidence_settings(config), recipient=recipient
        )
    finally:
        store.dispose()
    if as_json:
        click.echo(json.dumps({"notice": result.notice_id, "path": str(result.path),
                               "sha256": result.sha256}))  # fmt: skip
        return
    Console().print(f"notice {result.notice_id} drafted: {result.path} (sha256 {result.sha256})")


COMMANDS = (capture, keys, verify, export, notice)

"""`rightswatch crawl` end to end: progress, a CrawlRun row, findings for `findings list`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from evidence.models import CrawlRun, RunStatus
from evidence.store import Store
from rightswatch.cli import cli
from sandbox.client import write_client
from tests.support.sandbox import SandboxServer


def test_crawl_command_records_run_and_findings(sandbox: SandboxServer, tmp_path: Path) -> None:
    write_client(sandbox.url, tmp_path)
    config = str(tmp_path / "watch.toml")
    database = f"sqlite:///{tmp_path / 'case.db'}"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["crawl", "huggingface", "--config", config, "--database", database]
    )
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    store = Store.open(database)
    with store.session() as session:
        run = session.scalars(select(CrawlRun)).one()
        assert run.status is RunStatus.SUCCEEDED and run.finished_at is not None
        stats = run.stats["platforms"]["huggingface"]
        assert stats["candidates_new"] > 0 and stats["warc_file"].endswith(".warc.gz")
        assert "likeness engine: 3 characters" in stats["match"]
    store.dispose()
    listed = runner.invoke(
        cli, ["findings", "list", "--json", "--config", config, "--database", database]
    )
    assert listed.exit_code == 0, listed.output
    findings = json.loads(listed.output)
    assert findings
    truth = {t["external_id"]: t["character"] for t in sandbox.truth()}
    for finding in findings:
        for key in (
            "platform",
            "kind",
            "external_id",
            "character",
            "decision",
            "score",
            "page_url",
        ):
            assert finding[key] not in (None, ""), key
        assert finding["platform"] == "huggingface" and finding["kind"] == "model"
        assert truth[finding["external_id"]] == finding["character"]  # the right character


def test_unknown_platform_is_a_clear_error(sandbox: SandboxServer, tmp_path: Path) -> None:
    write_client(sandbox.url, tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "crawl",
            "nosuch",
            "--config",
            str(tmp_path / "watch.toml"),
            "--database",
            f"sqlite:///{tmp_path / 'case.db'}",
        ],
    )
    assert result.exit_code != 0
    assert "no platform named 'nosuch'" in str(result.exception or result.output)

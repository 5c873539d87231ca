"""Runs fail loudly and user mistakes are one line: a run that reached no platform is failed
with a non-zero exit and says so in its report and digest; a bad cron, a missing worker secret
and a scheduler error print one line without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scheduler
from evidence.kinds import RunStatus
from rightswatch.config import load_config
from rightswatch.notify import NotificationError, WebhookChannel, shown_webhook
from rightswatch.runreport import digest_of
from rightswatch.runsummary import RunSummary

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens on it here


def _cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rightswatch", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def _config(root: Path, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    platforms = "".join(
        f"""
[[platforms]]
name = "{name}"
kind = "{name}"
base_url = "{DEAD}"

[platforms.politeness]
retries = 1
delay_seconds = 0.0
obey_robots_txt = false
"""
        for name in ("civitai", "huggingface")
    )
    path = root / "watch.toml"
    path.write_text(
        f'[client]\nname = "Studio"\n\n[[characters]]\nname = "Pipera"\n{platforms}{extra}',
        encoding="utf-8",
    )
    return path


def test_a_run_that_reaches_no_platform_fails_loudly(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = _cli(tmp_path, "run", "--no-capture", "--no-notify")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = [ln for ln in result.stderr.splitlines() if ln.strip()][-1]
    assert "run 1 failed" in last
    reports = load_config(config).resolve(Path("rightswatch-data/evidence/runs"))
    summary = RunSummary.from_json(json.loads((reports / "run-1.json").read_text(encoding="utf-8")))
    assert summary.status == "failed"
    assert any(
        "no platform answered: civitai" in f and "huggingface" in f for f in summary.failures
    )
    assert "no platform answered" in (reports / "run-1.md").read_text(encoding="utf-8")
    digest = digest_of(load_config(config), summary)
    assert "FAILED" in digest.subject() and "no platform answered" in digest.subject()
    assert "no platform answered" in digest.to_text()


def test_a_bad_cron_is_one_line_naming_the_key(tmp_path: Path) -> None:
    _config(tmp_path, '\n[[schedules]]\nname = "nightly"\ncron = "99 3 * * *"\n')
    result = _cli(tmp_path, "schedule", "list")
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "watch.toml: schedules[0].cron" in line and "99 3 * * *" in line


def test_a_bad_path_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    result = _cli(tmp_path, "init", "--config", "afile/watch.toml")
    assert result.returncode == 1
    assert "afile" in _one_line(result.stderr)


def test_scheduler_errors_are_user_errors() -> None:
    from rightswatch.cli import cli, main

    @cli.command("cron-probe", hidden=True)
    def probe() -> None:
        scheduler.JobSpec(id="x", func="a:b", cron="61 * * * *").trigger()

    try:
        with pytest.raises(SystemExit) as info:
            main(["cron-probe"])
        assert info.value.code == 2
    finally:
        cli.commands.pop("cron-probe")


def test_a_worker_without_a_secret_is_one_line(tmp_path: Path) -> None:
    _config(tmp_path)
    result = _cli(tmp_path, "worker", env={"RIGHTSWATCH_REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert result.returncode == 2
    assert "RIGHTSWATCH_WORKER_SECRET" in _one_line(result.stderr)


def test_webhook_urls_are_shown_without_their_secret(tmp_path: Path) -> None:
    url = "https://hooks.example.test/services/T000/B000/SECRETPART?token=abc"
    assert shown_webhook(url) == "https://hooks.example.test/…"
    channel = WebhookChannel("http://127.0.0.1:9/hook/SECRETPART", attempts=1)
    config = load_config(_config(tmp_path))
    with pytest.raises(NotificationError) as info:
        channel.send(digest_of(config, RunSummary(1, RunStatus.FAILED, "a", "b", 0.0)))
    assert "SECRETPART" not in str(info.value)
    assert "http://127.0.0.1:9/…" in str(info.value)


def test_no_answer_names_every_platform_only_when_none_answered() -> None:
    from crawler.crawl import PlatformReport, no_answer

    def report(name: str, answered: int, reason: str = "finished") -> PlatformReport:
        counters = {"answered": answered, "failed": 3, "pages": 0}
        return PlatformReport(name, reason, counters, None, None)

    why = no_answer([report("civitai", 0), report("huggingface", 0)])
    assert why is not None and "civitai (3 request(s) failed" in why and "huggingface" in why
    assert no_answer([report("civitai", 0), report("huggingface", 1)]) is None
    assert no_answer([report("civitai", 0, "failed: shard rejected")]) is None  # failed anyway
    assert no_answer([]) is None

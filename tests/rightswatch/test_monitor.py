"""The monitoring run and rechecks, end to end against a small sandbox world."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from evidence.exceptions import LeaseHeld
from evidence.kinds import Decision
from evidence.lease import hold
from evidence.models import (
    Candidate,
    Capture,
    CaptureStatus,
    CrawlRun,
    Finding,
    FindingStatus,
    Notice,
    NoticeTemplate,
    RunStatus,
)
from evidence.store import Store
from evidence.verify import verify_bundle
from rightswatch.config import load_config
from rightswatch.evidence_settings import evidence_settings
from rightswatch.monitor import RunOptions, run_monitoring
from rightswatch.recheck import lease_name, run_rechecks
from rightswatch.runsummary import RunSummary
from tests.support.sandbox import SandboxServer, start_sandbox
from tests.support.webhook import Receiver

# The module's fixture makes two monitoring runs (five platforms, three in Chromium, captures
# sealed with the test TSA); on a machine shared with other test runs that takes longer than
# the suite's 300 s default, so this module's bound is 600 s.
pytestmark = pytest.mark.timeout(600)


@dataclass
class World:
    sandbox: SandboxServer
    config: Path
    store: Store
    receiver: Receiver
    first: RunSummary
    second: RunSummary
    crashed_run: int


def _client(sandbox: SandboxServer, out: Path, webhook: str) -> Path:
    subprocess.run(
        [sys.executable, "-m", "sandbox", "client", "--url", sandbox.url, "--out", str(out)],
        check=True,
        capture_output=True,
    )
    config = out / "watch.toml"
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[notifications]\nwebhook_url = "{webhook}"\n')
        fh.write('\n[[schedules]]\nname = "often"\njob = "monitor"\ncron = "*/5 * * * *"\n')
    subprocess.run(
        [sys.executable, "-m", "rightswatch", "keys", "init", "--config", str(config)],
        check=True,
        capture_output=True,
        cwd=out,
    )
    return config


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("monitor")
    with start_sandbox(root / "sandbox", items=60) as sandbox, Receiver([]) as receiver:
        config = _client(sandbox, root / "client", receiver.url)
        store = Store.open(f"sqlite:///{root / 'case.db'}")
        first = run_monitoring(config, store, RunOptions(max_captures=2))
        # a run of this configuration left "running" by a process that died
        with store.session() as s:
            crashed = CrawlRun(status=RunStatus.RUNNING, config_path=str(config.resolve()))
            s.add(crashed)
            s.flush()
            crashed_id = crashed.id
        second = run_monitoring(config, store, RunOptions(capture=False))
        yield World(sandbox, config, store, receiver, first, second, crashed_id)
        store.dispose()


def test_first_run_flags_and_seals_evidence(world: World) -> None:
    s = world.first
    assert s.status in ("succeeded", "partial")
    assert len(s.new_findings) >= 5
    assert s.captures_sealed == 2 and s.captures_failed == 0
    assert s.by_character_platform and all(v > 0 for v in s.by_character_platform.values())
    top = s.top_finding
    assert top is not None and top.bundle is not None and top.bundle.startswith("file://")
    report = verify_bundle(Path(top.bundle.removeprefix("file://")))
    assert report.ok, [c for c in report.checks if not c.ok]
    assert [Path(p).suffix for p in top.reports] == [".pdf", ".html"]
    markdown = Path(str(s.report_markdown)).read_text(encoding="utf-8")
    assert f"# Monitoring run {s.run_id}" in markdown
    assert "infring" not in markdown.lower()


def test_findings_match_the_ground_truth_characters(world: World) -> None:
    """Flags and reviews are look-alikes of a character the item shows (a pair shows two):
    never a wrong character, and never an item that shows none (an innocent picture generated
    with a character's LoRA included: provenance alone does not report it)."""
    rows = world.sandbox.truth()
    truth: dict[tuple[str, str, str], set[str]] = {}
    for t in rows:
        shown = [(t["platform"], str(t["external_id"]))]  # and as each gallery style shows it
        shown += [(site, str(s["external_id"])) for site, s in (t.get("sites") or {}).items()]
        depicted = set(t.get("characters") or ([t["character"]] if t["character"] else []))
        for platform, external_id in shown:
            truth[(platform, t["kind"], external_id)] = depicted
    flags = [f for f in world.first.new_findings if f.decision is Decision.FLAG]
    reviews = [f for f in world.first.new_findings if f.decision is Decision.REVIEW]
    assert flags
    for f in flags + reviews:
        key = (f.platform, f.kind.value, f.external_id)
        assert f.character in truth.get(key, set()), (
            f"{key} {f.decision.value}ged as {f.character}: {f.reasons}"
        )


def test_rerun_with_nothing_new_adds_nothing(world: World) -> None:
    assert world.second.new_findings == ()
    assert world.second.captures_sealed == 0
    with world.store.session() as s:
        keys = s.execute(
            select(Candidate.platform_id, Candidate.kind, Candidate.external_id)
        ).all()  # the same gallery item shown by two gallery styles is two candidates
        assert len(keys) == len(set(keys))
        runs = s.scalars(select(func.count(CrawlRun.id))).one()
        assert runs == 3  # two real runs and the crashed one


def test_a_crashed_run_is_marked_failed_at_the_next_start(world: World) -> None:
    with world.store.session() as s:
        crashed = s.get(CrawlRun, world.crashed_run)
        assert crashed is not None and crashed.status is RunStatus.FAILED
        assert "ended without finishing" in str(crashed.error)


def test_webhook_received_one_digest_per_run(world: World) -> None:
    runs = [b["digest"]["run_id"] for b in world.receiver.bodies]
    assert runs == [world.first.run_id, world.second.run_id]
    first = world.receiver.bodies[0]["digest"]
    assert len(first["new_findings"]) == sum(world.first.by_character_platform.values())


def test_an_overlapping_run_is_refused(world: World) -> None:
    lease = lease_name("Demo Rights Co. (sandbox)")
    with hold(world.store, lease), pytest.raises(LeaseHeld, match="already running"):
        run_monitoring(world.config, world.store, RunOptions(capture=False))


def _sealed_findings(store: Store) -> list[Finding]:
    with store.session() as s:
        return list(
            s.scalars(
                select(Finding)
                .join(Capture, Capture.finding_id == Finding.id)
                .where(Capture.status == CaptureStatus.SEALED)
                .order_by(Finding.id)
            ).unique()
        )


def test_recheck_proves_removal_and_persistence(world: World) -> None:
    gone, kept = _sealed_findings(world.store)[:2]
    real_now = datetime.now(UTC)
    with world.store.session() as s:
        for finding, status in ((gone, FindingStatus.NOTICED), (kept, FindingStatus.NOTICED)):
            row = s.get(Finding, finding.id)
            assert row is not None
            row.status = status
            s.add(
                Notice(
                    finding_id=finding.id,
                    template=NoticeTemplate.DMCA,
                    created_at=real_now - timedelta(days=2),
                )
            )
        candidate = s.get(Candidate, gone.candidate_id)
        assert candidate is not None
        kind, external_id = candidate.kind.value, candidate.external_id
    world.sandbox.remove(kind, external_id)

    # eight days later: both are due (interval 7 days); the notice is 16 days old (> 14)
    later = real_now + timedelta(days=14)
    summary = run_rechecks(world.config, world.store, now=later)
    assert summary.checked == 2 and summary.failed == []
    assert summary.removed == [gone.id]
    assert summary.persisting == [kept.id]
    with world.store.session() as s:
        assert s.get(Finding, gone.id).status is FindingStatus.REMOVED  # type: ignore[union-attr]
        assert s.get(Finding, kept.id).status is FindingStatus.PERSISTING  # type: ignore[union-attr]
        removal = s.scalars(
            select(Capture).where(
                Capture.finding_id == gone.id, Capture.status == CaptureStatus.REMOVED
            )
        ).one()
        assert removal.manifest_sha256 and removal.bundle_path
    # stored relative to the evidence folder (portable case files)
    folder = evidence_settings(load_config(world.config)).folder
    assert verify_bundle(folder / str(removal.bundle_path)).ok
    platform = next(iter(summary.response_hours))
    assert summary.response_hours[platform]["removed"] == 1
    assert 47 <= summary.response_hours[platform]["median_hours"] <= 49

    # the fresh captures were taken just now: nothing is due again for another interval
    soon = datetime.now(UTC) + timedelta(hours=1)
    assert run_rechecks(world.config, world.store, now=soon).checked == 0


def test_scheduler_runs_the_monitoring_job_against_the_sandbox(world: World) -> None:
    url = world.store.url
    script = textwrap.dedent(f"""
        import scheduler
        spec = scheduler.JobSpec(
            id="demo:often", func="rightswatch.monitor:scheduled_run", every_seconds=2,
            kwargs={{"config_path": {str(world.config)!r}, "database_url": {url!r},
                    "max_captures": 0}},
        )
        scheduler.serve(scheduler.SchedulerOptions(database_url={url!r}), [spec],
                        on_started=lambda s: print("started", flush=True))
    """)
    with world.store.session() as s:
        before = s.scalars(select(func.max(CrawlRun.id))).one()

    def run_row(*conditions: object) -> CrawlRun | None:
        with world.store.session() as s:
            return s.scalars(
                select(CrawlRun).where(CrawlRun.id > before, *conditions).order_by(CrawlRun.id)
            ).first()

    def wait(predicate: Callable[[], CrawlRun | None], seconds: float) -> CrawlRun | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = predicate()
            if found is not None:
                return found
            time.sleep(0.3)
        return None

    command = [sys.executable, "-c", script]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        finished = wait(lambda: run_row(CrawlRun.finished_at.is_not(None)), 240)
        assert finished is not None, "the scheduled run never finished"
        # the next run starts at once (every 2 s); stop the service while it crawls
        running = wait(lambda: run_row(CrawlRun.id > finished.id), 60)
        assert running is not None, "no second scheduled run started"
        child.send_signal(signal.SIGTERM)
        assert child.wait(240) == 0
    assert finished.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    with world.store.session() as s:
        stopped = s.get(CrawlRun, running.id)
        assert stopped is not None and stopped.status is RunStatus.INTERRUPTED
        assert "stopped on request" in str(stopped.error)

"""The query layer (evidence/queries/): typed rows, filtered by purpose."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from evidence.kinds import CaptureStatus, Decision, FindingStatus, RunStatus
from evidence.models import CrawlRun
from evidence.queries.captures import findings_to_capture, top_sealed
from evidence.queries.findings import finding_rows
from evidence.queries.rechecks import findings_due
from evidence.queries.runs import mark_interrupted, reap_crashed_runs
from evidence.store import Store
from tests.support.casefile import BASE_TIME, CaseFeeder


def _feeder(store: Store, tmp_path: Path) -> tuple[CaseFeeder, int, int]:
    feeder = CaseFeeder(store, tmp_path)
    return feeder, feeder.character("Hero"), feeder.platform("civitai")


def test_finding_rows_of_a_run_are_typed_and_ranked(store: Store, tmp_path: Path) -> None:
    feeder, hero, civitai = _feeder(store, tmp_path)
    run = feeder.run()
    low = feeder.finding(hero, civitai, score=0.5, run_id=run)
    high = feeder.finding(hero, civitai, score=0.95, run_id=run)
    feeder.finding(hero, civitai, score=0.99)  # another run's
    rows = finding_rows(store, run_id=run)
    assert [r.id for r in rows] == [high, low]
    assert rows[0].decision is Decision.FLAG and rows[1].decision is Decision.REVIEW
    assert rows[0].character == "Hero" and rows[0].platform == "civitai"
    assert rows[0].to_json()["decision"] == "flag"
    assert [r.id for r in finding_rows(store, platform="hf")] == []
    assert len(finding_rows(store, character="Hero", limit=2)) == 2


def test_capture_choice_and_the_top_sealed_finding(store: Store, tmp_path: Path) -> None:
    feeder, hero, civitai = _feeder(store, tmp_path)
    sealed = feeder.finding(hero, civitai, score=0.97)
    feeder.capture(sealed)
    todo = feeder.finding(hero, civitai, score=0.9)
    feeder.finding(hero, civitai, score=0.6)  # review band: never captured by a run
    assert findings_to_capture(store, threshold=0.85, limit=10) == [todo]
    feeder.capture(todo, status=CaptureStatus.FAILED)
    top = top_sealed(store, [todo, sealed])
    assert top is not None and top.finding_id == sealed and top.score == 0.97
    assert top_sealed(store, [todo]) is None
    assert top_sealed(store, []) is None


def test_run_rows_reaped_and_interrupted(store: Store, tmp_path: Path) -> None:
    feeder, _, _ = _feeder(store, tmp_path)
    crashed = feeder.run(status=RunStatus.RUNNING)
    with store.session() as session:
        row = session.get(CrawlRun, crashed)
        assert row is not None
        row.config_path = "/cfg/watch.toml"
    assert reap_crashed_runs(store, "/other.toml") == []
    assert reap_crashed_runs(store, "/cfg/watch.toml") == [crashed]
    other = feeder.run()
    mark_interrupted(store, other, "stopped on request")
    with store.session() as session:
        reaped, stopped = session.get(CrawlRun, crashed), session.get(CrawlRun, other)
        assert reaped is not None and reaped.status is RunStatus.FAILED
        assert stopped is not None and stopped.status is RunStatus.INTERRUPTED


def test_findings_due_for_a_recheck(store: Store, tmp_path: Path) -> None:
    feeder, hero, civitai = _feeder(store, tmp_path)
    fresh = feeder.finding(hero, civitai, status=FindingStatus.CONFIRMED)
    feeder.capture(fresh, started_at=BASE_TIME)
    never = feeder.finding(hero, civitai, status=FindingStatus.NOTICED)
    feeder.finding(hero, civitai, status=FindingStatus.NEW)
    statuses = (FindingStatus.CONFIRMED, FindingStatus.NOTICED)
    week = timedelta(days=7)
    assert findings_due(store, statuses, week, BASE_TIME + timedelta(days=1)) == [never]
    assert findings_due(store, statuses, week, BASE_TIME + timedelta(days=8)) == [fresh, never]

"""Civitai and Hugging Face spiders against the sandbox: recall, incremental runs, WARC,
faults and bot challenges."""

from __future__ import annotations

import glob
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.crawl import CrawlReport
from evidence.models import CandidateState, RunStatus
from tests.support.crawl import CrawlSetup, expected_items, make_setup
from tests.support.sandbox import SandboxFactory, SandboxServer

API = ("civitai", "huggingface")
FAULT_ITEMS = 90


@pytest.fixture(scope="module")
def first_run(
    sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CrawlSetup, CrawlReport]]:
    setup = make_setup(sandbox, tmp_path_factory.mktemp("crawl"))
    report = setup.crawl(*API)
    yield setup, report


def _keys(
    setup: CrawlSetup, state: CandidateState | None = CandidateState.STORED
) -> set[tuple[str, str, str]]:
    return {
        (c.platform.name, c.kind.value, c.external_id)
        for name in API
        for c in setup.candidates(name)
        if state is None or c.state is state
    }


def test_discovery_recall_is_complete(first_run: tuple[CrawlSetup, CrawlReport]) -> None:
    setup, report = first_run
    assert report.status is RunStatus.SUCCEEDED, report.stats()
    expected = expected_items(setup.server, setup.config)
    assert len(expected) >= 20  # the oracle found real work
    missing = expected - _keys(setup)
    assert not missing, f"{len(missing)} reachable items not found: {sorted(missing)[:10]}"


def test_innocently_named_loras_are_reached_through_the_newest_listing(
    first_run: tuple[CrawlSetup, CrawlReport],
) -> None:
    """Search sees names only; a repo whose alias is only in its tags, trigger words or
    training metadata is still crawled (and its header read) from the newest-LoRA listing."""
    setup, _report = first_run
    look_alikes = {
        str(t["external_id"]): t["how"]
        for t in setup.server.truth()
        if t["platform"] == "huggingface" and t["character"] and not t.get("fault")
    }
    hidden = {k for k, how in look_alikes.items() if not how.startswith("name")}
    assert hidden, "the sandbox world has no innocently named look-alike to test with"
    crawled = {c.external_id for c in setup.candidates("huggingface")}
    assert not look_alikes.keys() - crawled, sorted(look_alikes.keys() - crawled)


def test_candidates_carry_provenance_and_warc_passes_check(
    first_run: tuple[CrawlSetup, CrawlReport],
) -> None:
    setup, report = first_run
    stored = [c for name in API for c in setup.candidates(name)]
    assert stored and all(c.warc_record_id and c.warc_file for c in stored)
    assert all(Path(c.warc_file or "").exists() for c in stored)
    models = [c for c in stored if c.kind.value == "model" and c.platform.name == "huggingface"]
    assert any(c.raw["crawl"]["safetensors"] for c in models)  # headers read with Range
    assert any(c.sha256 and c.raw["crawl"]["media_path"] for c in stored)
    for warc in {p.warc_file for p in report.platforms}:
        assert warc is not None
        check = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", warc], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_second_run_creates_no_new_candidates(first_run: tuple[CrawlSetup, CrawlReport]) -> None:
    setup, report = first_run
    before = {
        (c.platform.name, c.kind.value, c.external_id): c for n in API for c in setup.candidates(n)
    }
    again = setup.crawl(*API)
    assert again.ok, again.stats()
    assert again.totals["candidates_new"] == 0
    assert again.totals["candidates_updated"] == 0
    after = {
        (c.platform.name, c.kind.value, c.external_id): c for n in API for c in setup.candidates(n)
    }
    assert after.keys() == before.keys()
    moved = [k for k in after if after[k].last_seen > before[k].last_seen]
    assert moved and all(after[k].first_seen == before[k].first_seen for k in after)
    assert again.totals["pages"] < report.totals["pages"]  # the incremental stop saved work


def test_faults_lose_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVITAI_TOKEN", "sandbox-test-token")  # lets Civitai headers be read
    faults = (
        "500=0.1,429=0.05:1,truncate=0.1,slow=0.05:0.3,drop=0.03,"
        "bomb=1,corrupt-jpeg=1,st-huge-header=1,st-bad-json=1"
    )
    clean = sandbox_factory(items=FAULT_ITEMS)
    server = sandbox_factory(items=FAULT_ITEMS, faults=faults)
    setup = make_setup(server, tmp_path)
    report = setup.crawl(*API)
    assert all(p.finished for p in report.platforms), report.stats()
    assert report.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    assert sum(p.counters.get("retries", 0) for p in report.platforms) > 0  # faults did fire
    rows = {
        (c.platform.name, c.kind.value, c.external_id): c for n in API for c in setup.candidates(n)
    }
    expected = expected_items(clean, setup.config)  # same seed and size: the clean world
    missing = expected - rows.keys()
    assert not missing, f"silently lost: {sorted(missing)[:10]}"
    listed = {f.external_id: f.reason for p in report.platforms for f in p.failures}
    for key in expected:
        row = rows[key]
        crawl = row.raw.get("crawl", {})
        if row.state is CandidateState.STORED and crawl.get("media_urls") and not row.sha256:
            # media refused: the reason is on the candidate and in the run's failure list
            assert crawl["media_error"] and key[2] in listed, key
        if row.state is not CandidateState.STORED:
            assert row.state_reason, key
    faulty = {t["fault"]: t for t in server.truth() if t.get("fault")}
    huge = faulty["st-huge-header"]
    row = rows.get((huge["platform"], "model", str(huge["external_id"])))
    if row is not None and row.state is CandidateState.STORED:
        assert any("exceeds" in e for e in row.raw["crawl"]["header_errors"])
    jpeg = faulty["corrupt-jpeg"]
    row = rows.get((jpeg["platform"], "image", str(jpeg["external_id"])))
    if row is not None:
        assert row.sha256 is None and row.raw["crawl"]["media_error"]


def test_challenge_pages_never_become_candidates(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    server = sandbox_factory(items=FAULT_ITEMS, faults="challenge=0.25")
    setup = make_setup(server, tmp_path)
    report = setup.crawl("huggingface")  # the wall check is the same middleware for all
    assert report.totals["blocked"] > 0
    reasons = [f.reason for p in report.platforms for f in p.failures if f.status == "blocked"]
    assert reasons and all("bot challenge" in r for r in reasons)
    truth = {(t["platform"], t["kind"], str(t["external_id"])) for t in server.truth()}
    for candidate in (c for name in API for c in setup.candidates(name)):
        key = (candidate.platform.name, candidate.kind.value, candidate.external_id)
        assert key in truth  # nothing invented from a challenge page
        if candidate.state is CandidateState.BLOCKED:
            assert candidate.title == "" and candidate.raw == {}
            assert "bot challenge" in (candidate.state_reason or "")
        else:
            assert "Just a moment" not in str(candidate.raw)
    assert glob.glob(str(setup.root / "**" / "*.warc.gz"), recursive=True)

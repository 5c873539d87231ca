"""The dashboard's pages and decisions through Starlette's test client."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from evidence import ledger
from evidence.custody import GENESIS, chain_problems
from evidence.models import CustodyEvent, Finding, FindingStatus
from rightswatch.config import load_config
from rightswatch.crawling import plan_from_config
from rightswatch.review.settings import ReviewSettings
from tests.rightswatch.review.helpers import csrf_of
from tests.support.casefile import Sample


def _status(
    settings: ReviewSettings, finding_id: int
) -> tuple[FindingStatus, str | None, str | None]:
    with settings.store.session() as session:
        row = session.get(Finding, finding_id)
        assert row is not None
        return row.status, row.reviewer, row.status_reason


def _events(settings: ReviewSettings, finding_id: int) -> list[CustodyEvent]:
    with settings.store.session() as session:
        return list(
            session.scalars(
                select(CustodyEvent)
                .where(CustodyEvent.finding_id == finding_id)
                .order_by(CustodyEvent.seq)
            )
        )


def test_queue_sorted_by_score_and_paged(client: TestClient, fed: Sample) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "31 in all" in page.text
    assert "page 1 of 2" in page.text
    # the script-titled model has the top score, so it comes first, escaped
    first_row = page.text.split("<tbody>")[1].split("</tr>")[0]
    assert f"/findings/{fed.script_finding}" in first_row
    assert "&lt;script&gt;" in first_row
    second = client.get("/?page=2")
    assert "page 2 of 2" in second.text
    assert second.text.count('class="finding-link"') == 31 - 25


def test_queue_filters(client: TestClient, settings: ReviewSettings) -> None:
    villain = client.get("/", params={"character": "Villain"})
    assert "10 in all" in villain.text
    assert "Hero fan art" not in villain.text
    hf = client.get("/", params={"platform": "huggingface", "character": "Hero"})
    assert "10 in all" in hf.text
    with settings.store.session() as session:
        days = [f.created_at.date() for f in session.scalars(select(Finding))]
    expected = sum(1 for d in days if d == date(2026, 11, 21))
    assert expected > 1
    day = client.get("/", params={"since": "2026-11-21", "until": "2026-11-21"})
    assert f"{expected} in all" in day.text
    none = client.get("/", params={"status": "confirmed"})
    assert "No findings match." in none.text
    bad = client.get("/", params={"since": "yesterday"})
    assert bad.status_code == 400


def test_thumbnails_come_from_the_evidence_folder(client: TestClient) -> None:
    page = client.get("/")
    srcs = [part.split('"')[0] for part in page.text.split('<img src="')[1:]]
    assert srcs and all(s.startswith("/files/media/") for s in srcs)
    image = client.get(srcs[0])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"


def test_finding_page_shows_facts_reasons_and_region(client: TestClient, fed: Sample) -> None:
    page = client.get(f"/findings/{fed.script_finding}")
    assert page.status_code == 200
    text = page.text
    assert "&lt;script&gt;alert(&#34;sandbox&#34;)&lt;/script&gt; Hero LoRA" in text
    assert "<script>" not in text
    assert "&lt;img src=x onerror=alert(&#34;creator&#34;)&gt;" in text
    assert "examplehero" in text and "home" in text
    assert "41 matching keypoints" in text
    assert '<rect x="10.0" y="20.0" width="50.0" height="70.0"' in text
    assert "allow_commercial_use: <bdi>Image</bdi>" in text
    ref = client.get(text.split('src="/references/')[1].split('"')[0].join(["/references/", ""]))
    assert ref.status_code == 200 and ref.headers["content-type"] == "image/png"


def test_confirm_records_status_and_custody(
    client: TestClient, fed: Sample, settings: ReviewSettings
) -> None:
    token = csrf_of(client.get(f"/findings/{fed.top_finding}").text)
    done = client.post(
        f"/findings/{fed.top_finding}/confirm", data={"csrf_token": token, "note": "same outfit"}
    )
    assert done.status_code == 200  # followed the redirect back to the finding
    assert "Confirmed: resembles" in done.text
    assert _status(settings, fed.top_finding) == (
        FindingStatus.CONFIRMED,
        "Test Reviewer",
        "same outfit",
    )
    events = _events(settings, fed.top_finding)
    assert [(e.event, e.actor, e.details["decision"]) for e in events] == [
        ("decided", "Test Reviewer", "confirmed")
    ]
    assert events[0].prev_hash == GENESIS
    with settings.store.session() as session:
        assert not chain_problems(ledger.chain(session, finding_id=fed.top_finding), source="db")


def test_dismiss_needs_a_reason(client: TestClient, fed: Sample, settings: ReviewSettings) -> None:
    fid = fed.findings[0]
    token = csrf_of(client.get(f"/findings/{fid}").text)
    empty = client.post(f"/findings/{fid}/dismiss", data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 409
    assert _status(settings, fid)[0] is FindingStatus.NEW
    ok = client.post(
        f"/findings/{fid}/dismiss", data={"csrf_token": token, "reason": "different hair"}
    )
    assert ok.status_code == 200
    assert _status(settings, fid) == (FindingStatus.DISMISSED, "Test Reviewer", "different hair")
    client.post(f"/findings/{fid}/confirm", data={"csrf_token": token})
    events = _events(settings, fid)
    assert [e.details["decision"] for e in events] == ["dismissed", "confirmed"]
    assert events[1].prev_hash == events[0].entry_hash
    with settings.store.session() as session:
        assert not chain_problems(ledger.chain(session, finding_id=fid), source="db")


def test_findings_past_review_refuse_decisions(
    client: TestClient, fed: Sample, settings: ReviewSettings
) -> None:
    fid = fed.findings[1]
    with settings.store.session() as session:
        row = session.get(Finding, fid)
        assert row is not None
        row.status = FindingStatus.NOTICED
    token = csrf_of(client.get(f"/findings/{fid}").text)
    refused = client.post(f"/findings/{fid}/dismiss", data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 409
    assert "past review" in refused.text
    assert _events(settings, fid) == []


def test_allowlist_writes_watch_toml_keeping_comments(
    client: TestClient, fed: Sample, settings: ReviewSettings, watch_toml: Path
) -> None:
    fid = fed.script_finding
    token = csrf_of(client.get(f"/findings/{fid}").text)
    done = client.post(f"/findings/{fid}/allowlist", data={"csrf_token": token})
    assert done.status_code == 200
    text = watch_toml.read_text(encoding="utf-8")
    assert "# the main character" in text and "# the client's watch list" in text
    config = load_config(watch_toml)
    hero = next(c for c in config.characters if c.name == "Hero")
    assert hero.allowlist == ['<img src=x onerror=alert("creator")>']
    villain = next(c for c in config.characters if c.name == "Villain")
    assert villain.allowlist == ["licensed-artist"]
    assert tomllib.loads(watch_toml.with_name("watch.toml.bak").read_text())["client"]
    status, _, reason = _status(settings, fid)
    assert status is FindingStatus.DISMISSED and "allowlist" in (reason or "")
    # the crawl plan the next run hands the likeness engine carries the creator
    plan = plan_from_config(load_config(watch_toml), "sqlite://")
    assert '<img src=x onerror=alert("creator")>' in plan.match.allowlists["Hero"]
    assert _events(settings, fid)[-1].details["decision"] == "allowlisted"


def test_runs_page_has_history_and_chart(client: TestClient) -> None:
    page = client.get("/runs")
    assert page.status_code == 200
    assert page.text.count('class="run-succeeded"') == 3
    chart = page.text.split('<svg id="chart"')[1].split("</svg>")[0]
    assert chart.count("<rect") >= 7  # one bar segment per platform and day at least
    assert "civitai 2026-11-2" in chart


def test_unknown_finding_is_404(client: TestClient) -> None:
    assert client.get("/findings/99999").status_code == 404

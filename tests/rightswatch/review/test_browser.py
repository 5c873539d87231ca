"""The dashboard in a real Chromium (Debian's, through Playwright), against a fed case file.

Screenshots of every page are saved under artifacts/review/ (not committed).
"""

from __future__ import annotations

import dataclasses
import http.client
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from crawler.parsers import ParseContext
from crawler.parsers.civitai import parse_models_page
from evidence.capture.chromium import CHROMIUM_ARGS
from evidence.capture.chromium import CHROMIUM_PATH as CHROMIUM
from evidence.models import CustodyEvent, Finding, FindingStatus
from evidence.signing import generate_keypair
from rightswatch.config import load_config
from rightswatch.review.app import create_app
from rightswatch.review.settings import ReviewSettings
from tests.rightswatch.review.helpers import WATCH_TOML
from tests.support.casefile import SCRIPT_TITLE, Sample, candidate_from_crawl, seed_finding
from tests.support.liveserver import serve_in_thread
from tests.support.local_tsa import local_tsa
from tests.support.pages import serve_pages

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "review"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()


@pytest.fixture
def live(settings: ReviewSettings, watch_toml: Path, fed: Sample) -> Iterator[str]:
    full = dataclasses.replace(settings, config=load_config(watch_toml))
    with serve_in_thread(create_app(full)) as url:
        yield url


@pytest.fixture
def page(browser: Browser, live: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.dialogs = dialogs  # type: ignore[attr-defined]
    yield tab
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _finding(settings: ReviewSettings, finding_id: int) -> Finding:
    with settings.store.session() as session:
        row = session.get(Finding, finding_id)
        assert row is not None
        return row


def _events(settings: ReviewSettings, finding_id: int) -> list[CustodyEvent]:
    with settings.store.session() as session:
        return list(
            session.scalars(select(CustodyEvent).where(CustodyEvent.finding_id == finding_id))
        )


def test_open_queue_open_finding_confirm(page: Page, fed: Sample, settings: ReviewSettings) -> None:
    page.goto("/")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 25
    scores = [float(s.split()[0]) for s in page.locator("#queue td.score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    assert page.locator("#queue td.thumb img").first.evaluate("i => i.naturalWidth") > 0
    shot(page, "queue")
    page.locator(f'a.finding-link[href="/findings/{fed.top_finding}"]').click()
    page.wait_for_url(f"**/findings/{fed.top_finding}")
    assert page.locator("figure.reference img").evaluate("i => i.naturalWidth") == 96
    shot(page, "finding")
    page.fill("#confirm-form input[name=note]", "same costume and colours")
    page.click("#confirm")
    page.wait_for_selector("#status:text('confirmed')")
    assert "Confirmed: resembles" in page.inner_text(".flash")
    shot(page, "finding-confirmed")
    row = _finding(settings, fed.top_finding)
    assert row.status is FindingStatus.CONFIRMED and row.reviewer == "Test Reviewer"
    events = _events(settings, fed.top_finding)
    assert [(e.event, e.actor, e.details["decision"]) for e in events] == [
        ("decided", "Test Reviewer", "confirmed")
    ]
    assert "decided by Test Reviewer: confirmed" in page.inner_text("#custody")


def test_dismiss_with_a_reason(page: Page, fed: Sample, settings: ReviewSettings) -> None:
    fid = fed.findings[0]
    page.goto(f"/findings/{fid}")
    page.fill("#dismiss-reason", "different character: the hair and emblem differ")
    page.click("#dismiss")
    page.wait_for_selector("#status:text('dismissed')")
    assert page.inner_text("#status-reason") == "different character: the hair and emblem differ"
    shot(page, "finding-dismissed")
    row = _finding(settings, fid)
    assert row.status is FindingStatus.DISMISSED
    assert row.status_reason == "different character: the hair and emblem differ"
    assert _events(settings, fid)[0].details["reason"] == row.status_reason


def test_script_title_renders_inert(page: Page, fed: Sample) -> None:
    page.goto("/")
    link = page.locator(f'a.finding-link[href="/findings/{fed.script_finding}"]')
    assert link.inner_text() == SCRIPT_TITLE
    page.goto(f"/findings/{fed.script_finding}")
    assert page.inner_text("#title") == SCRIPT_TITLE
    assert page.inner_text("#creator") == '<img src=x onerror=alert("creator")>'
    assert page.locator("script").count() == 0
    assert page.locator("#facts img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []  # type: ignore[attr-defined]
    # the matched region of the local-feature reason is drawn over the candidate
    assert page.locator("svg.region rect").is_visible()
    page.click("label[for=overlay-toggle]")
    position = page.locator("figure.candidate").evaluate("e => getComputedStyle(e).position")
    assert position == "absolute"
    shot(page, "finding-script-title-overlay")


def test_sandbox_model_with_script_title_renders_inert(
    page: Page, sandbox_factory: Any, settings: ReviewSettings, fed: Sample
) -> None:
    """A model the sandbox serves with its ``script-title`` fault, parsed by the crawler's own
    Civitai parser and recorded as the record pipeline does, shows as text and runs nothing."""
    sandbox = sandbox_factory(items=40, faults="script-title=2")
    url = f"{sandbox.url}/api/v1/models?limit=100"
    ctx = ParseContext(
        platform="civitai", base_url=sandbox.url, url=url, fetched_at=datetime.now(UTC)
    )
    models = parse_models_page(sandbox.get("/api/v1/models?limit=100").json(), ctx).items
    hostile = [m for m in models if (m.title or "").startswith("<script>")]
    assert hostile, "the sandbox served no script-titled model"
    fid = candidate_from_crawl(
        settings.store, hostile[0], fed.platforms["civitai"], fed.characters["Hero"]
    )
    page.goto(f"/findings/{fid}")
    assert page.inner_text("#title") == hostile[0].title
    assert page.locator("script").count() == 0
    page.goto("/")
    assert page.locator(f'a.finding-link[href="/findings/{fid}"]').inner_text() == hostile[0].title
    page.wait_for_timeout(300)
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "queue-sandbox-script-title")


def test_request_without_csrf_token_is_refused(
    page: Page, fed: Sample, settings: ReviewSettings
) -> None:
    fid = fed.findings[1]
    page.goto(f"/findings/{fid}")
    refused = page.request.post(f"/findings/{fid}/confirm", form={"note": "forged"})
    assert refused.status == 403
    assert _finding(settings, fid).status is FindingStatus.NEW
    token = page.locator("#confirm-form input[name=csrf_token]").input_value()
    accepted = page.request.post(f"/findings/{fid}/confirm", form={"csrf_token": token})
    assert accepted.status == 200
    assert _finding(settings, fid).status is FindingStatus.CONFIRMED


def test_dot_dot_paths_are_refused(page: Page, live: str, settings: ReviewSettings) -> None:
    (settings.evidence_root.parent / "outside.txt").write_text("not evidence")
    host, port = live.removeprefix("http://").split(":")
    for raw in (
        "/files/../outside.txt",
        "/files/media/../../outside.txt",
        "/files/%2e%2e/outside.txt",
    ):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", raw)  # sent as is: http.client does not normalise the path
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        assert response.status == 404, raw
        assert "not evidence" not in body
    # a browser folds "/../" itself; an encoded slash reaches the server as a traversal
    response = page.goto("/files/..%2Foutside.txt")
    assert response is not None and response.status == 404
    assert "refused" in page.inner_text("#error-message")
    shot(page, "path-refused")


@pytest.fixture
def evidence_config(tmp_path: Path, settings: ReviewSettings) -> Iterator[tuple[Path, str]]:
    """watch.toml with a working [evidence] section (local TSA, fresh key) and a page site."""
    with local_tsa(tmp_path / "tsa") as tsa, serve_pages() as site:
        keys = generate_keypair(tmp_path / "keys" / "operator.key", tmp_path / "keys" / "op.pub")
        ca = tmp_path / "tsa-ca.pem"
        ca.write_bytes(tsa.ca_pem)
        path = tmp_path / "watch-evidence.toml"
        path.write_text(
            WATCH_TOML
            + f"""
[[platforms]]  # the page site is a configured platform: captures may reach its address
name = "localgallery"
kind = "gallery"
profile = "liblib"
base_url = "{site.url}"

[evidence]
folder = "{settings.evidence_folder}"
tsa_urls = ["{tsa.url}"]
tsa_ca_files = ["{ca}"]
signing_key = "{keys.private_path}"
operator = "configured operator"
timezone = "Asia/Shanghai"
""",
            encoding="utf-8",
        )
        yield path, site.url


def test_capture_verify_notice_export_and_rightswatch_verify(
    browser: Browser,
    settings: ReviewSettings,
    evidence_config: tuple[Path, str],
    fed: Sample,
    tmp_path: Path,
) -> None:
    config_path, site_url = evidence_config
    fid = seed_finding(settings.store, site_url, "e2e", tmp_path / "refs")
    full = dataclasses.replace(settings, config=load_config(config_path), config_path=config_path)
    with serve_in_thread(create_app(full)) as url:
        context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(90_000)
        page = context.new_page()
        page.goto(f"/findings/{fid}")
        page.click("#capture")
        page.wait_for_selector(".flash")
        assert "sealed" in page.inner_text(".flash"), page.inner_text(".flash")
        capture_cell = page.locator("#captures td.verify").first
        assert capture_cell.inner_text().startswith("verified"), capture_cell.inner_text()
        assert page.locator("#captures img.shot").first.evaluate("i => i.naturalWidth") > 0
        shot(page, "finding-captured")
        page.click("#confirm")
        page.wait_for_selector("#status:text('confirmed')")
        page.select_option("#notice-form select[name=template]", "dmca")
        page.click("#notice")
        page.wait_for_selector("#notices")
        assert "Notice drafted (dmca)" in page.inner_text(".flash")
        shot(page, "finding-noticed")
        with page.expect_download() as info:
            page.click("#export")
        saved = tmp_path / "downloaded.zip"
        info.value.save_as(saved)
        context.close()
    assert info.value.suggested_filename.startswith(f"finding-{fid}-")
    checked = subprocess.run(
        [sys.executable, "-m", "rightswatch", "verify", str(saved)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VERIFIED" in checked.stdout
    actors = {e.event: e.actor for e in _events(settings, fid)}
    assert actors["decided"] == actors["exported"] == actors["sealed"] == "Test Reviewer"
    assert actors["noticed"] == "Test Reviewer"


def test_runs_page_and_sign_in(
    page: Page, browser: Browser, settings: ReviewSettings, fed: Sample
) -> None:
    page.goto("/runs")
    assert page.locator("#runs tbody tr").count() == 3
    assert page.locator("#chart rect").count() >= 7
    shot(page, "runs")
    guarded = dataclasses.replace(
        settings, token="open-sesame-0123456789-abcdefghijklmnop", reviewer=None
    )
    with serve_in_thread(create_app(guarded)) as url:
        context = browser.new_context(base_url=url)
        tab = context.new_page()
        tab.goto(f"/findings/{fed.top_finding}")
        assert "/login" in tab.url
        shot(tab, "login")
        tab.fill("input[name=reviewer]", "Ada Reviewer")
        tab.fill("input[name=token]", "open-sesame-0123456789-abcdefghijklmnop")
        tab.click("button[type=submit]")
        tab.wait_for_url(f"**/findings/{fed.top_finding}")
        assert tab.inner_text("#reviewer-name") == "Ada Reviewer"
        context.close()

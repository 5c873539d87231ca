"""The gallery spider renders a JavaScript-only site in Debian's Chromium."""

from __future__ import annotations

from pathlib import Path

import httpx

from crawler.items import Placement
from crawler.parsers.gallery import parse_cards
from evidence.models import CandidateState, RunStatus
from tests.support.crawl import make_setup
from tests.support.sandbox import SandboxFactory


def test_gallery_finds_items_that_exist_only_after_javascript(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # enough posts for several pages of infinite scroll, on a cold image cache
    server = sandbox_factory(items=100)
    home = httpx.get(f"{server.url}/gallery/", timeout=30)
    assert home.status_code == 200
    assert parse_cards(home.text, str(home.url), Placement.HOME) == []  # a bare shell
    setup = make_setup(server, tmp_path)
    report = setup.crawl("gallery")
    assert report.status is RunStatus.SUCCEEDED, report.stats()
    found = [c for c in setup.candidates("gallery") if c.state is CandidateState.STORED]
    truth = {
        (t["kind"], str(t["external_id"])) for t in server.truth() if t["platform"] == "gallery"
    }
    assert {(c.kind.value, c.external_id) for c in found} == truth  # every item, after JS
    discovery = [c.raw["crawl"]["discovery"] for c in found]
    assert any(d["placement"] == "recommended" for d in discovery)
    assert all(isinstance(d["rank"], int) and d["rank"] >= 1 for d in discovery)
    assert all(c.title and c.page_url.startswith(f"{server.url}/gallery/") for c in found)
    assert any(c.sha256 for c in found)  # media fetched from the rendered page's image
    assert all(c.warc_record_id for c in found)

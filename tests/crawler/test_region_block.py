"""Civitai's API refuses restricted regions with HTTP 451 (research/real-platforms.md, Civitai 7):
the platform stops at once with the platform's words and the fix; the other platforms go on."""

from __future__ import annotations

from pathlib import Path

import httpx
from warcio.archiveiterator import ArchiveIterator

from crawler.engine_builder import refresh_fingerprints
from evidence.models import RunStatus
from evidence.store import Store
from rightswatch.library import sync_config
from tests.support.crawl import make_setup
from tests.support.sandbox import start_sandbox


def test_a_region_blocked_platform_stops_at_once_and_says_why(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "sandbox", items=40, extra=("--caller-country", "GB")) as server:
        blocked = httpx.get(f"{server.url}/api/v1/models?limit=1", timeout=30)
        assert blocked.status_code == 451 and blocked.json()["code"] == "REGION_BLOCKED"
        # the Hub shares the sandbox's host, not Civitai's policy
        assert httpx.get(f"{server.url}/api/models?limit=1", timeout=30).status_code == 200

        setup = make_setup(server, tmp_path / "client")
        store = Store.open(setup.database_url)
        sync_config(store, setup.config)
        refresh_fingerprints(store)
        store.dispose()
        report = setup.crawl("civitai", "huggingface")
    # a platform that did not finish fails the run (as a robots refusal does); the others' work
    # is kept
    assert report.status is RunStatus.FAILED, report.stats()
    by_name = {p.name: p for p in report.platforms}
    civitai, hub = by_name["civitai"], by_name["huggingface"]
    assert civitai.error is not None
    assert "HTTP 451" in civitai.error and "REGION_BLOCKED" in civitai.error
    assert "run the crawl from a region the platform serves" in civitai.error
    assert civitai.finish_reason == "unavailable_for_legal_reasons"
    assert civitai.counters.get("candidates_new", 0) == 0
    # stopped at once: the requests already in flight, not one per listing and term
    assert civitai.counters.get("answered", 0) <= 20, civitai.counters
    assert hub.error is None and hub.counters.get("candidates_new", 0) > 0
    # the refusal itself is archived as the platform sent it
    assert civitai.warc_file is not None
    refused = []
    with Path(civitai.warc_file).open("rb") as stream:
        for record in ArchiveIterator(stream):
            headers = record.http_headers
            if record.rec_type == "response" and headers and headers.get_statuscode() == "451":
                refused.append(record.content_stream().read())
    assert refused and b"REGION_BLOCKED" in refused[0]

"""robots.txt and API terms: decided before any request leaves, recorded, and loud.

Scrapy 2.19's own robots.txt middleware sends disallowed requests when many wait for the same
robots.txt (real-platforms.md, last section). Here 40 listings are scheduled at once, with 16
in flight per host, while robots.txt takes half a second: not one API request may reach the
server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.crawl import run_crawl
from crawler.plan import ApiAccess, CrawlPlan, PlatformTarget, Politeness
from evidence.models import PlatformKind, RunStatus
from sandbox.civitai import ROBOTS_TXT

TERMS = tuple(f"term{n}" for n in range(20))


class _Counting(BaseHTTPRequestHandler):
    hits: list[str]
    robots: list[str]

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.robots.append(self.headers.get("User-Agent", ""))
            time.sleep(0.5)  # every listing is waiting for it now
            body, kind = ROBOTS_TXT.encode(), "text/plain"
        else:
            self.hits.append(self.path)
            body, kind = json.dumps({"items": [], "metadata": {}}).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str], list[str]]]:
    hits: list[str] = []
    robots: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits, "robots": robots})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits, robots
    finally:
        server.shutdown()
        server.server_close()


def _plan(url: str, tmp_path: Path, access: ApiAccess | None) -> CrawlPlan:
    polite = Politeness(concurrency=16, delay_s=0.0, autothrottle=False, api_access=access)
    target = PlatformTarget(
        name="civitai",
        kind=PlatformKind.CIVITAI,
        base_url=url,
        search_terms=TERMS,
        politeness=polite,
    )
    return CrawlPlan(
        targets=(target,),
        database_url=f"sqlite:///{tmp_path / 'case.db'}",
        output_dir=tmp_path / "out",
        contact="robots test <robots@example.invalid>",
    )


def test_no_disallowed_request_leaves_and_the_platform_fails_naming_the_setting(
    counting_server: tuple[str, list[str], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, hits, robots = counting_server
    monkeypatch.delenv("CIVITAI_TOKEN", raising=False)
    report = run_crawl(_plan(url, tmp_path, ApiAccess.ROBOTS), timeout_s=120)
    assert hits == []  # not one disallowed request reached the server
    assert len(robots) == 1 and "robots@example.invalid" in robots[0]
    assert report.status is RunStatus.FAILED
    (platform,) = report.platforms
    assert platform.error and 'api_access = "api-terms"' in platform.error
    assert "civitai" in platform.error and "robots.txt" in platform.error
    (decision,) = platform.robots
    assert decision["status"] == 200 and decision["rules"] == "parsed"
    assert decision["api_access"] == "robots" and len(decision["sha256"]) == 64
    assert any("mature content" in note for note in platform.notes)  # no token
    assert platform.warc_file is not None
    with open(platform.warc_file, "rb") as handle:
        records = list(ArchiveIterator(handle))
    types = {(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in records}
    assert ("response", f"{url}/robots.txt") in types  # the robots.txt read, archived
    assert ("metadata", f"{url}/robots.txt") in types  # and the decision taken on it


def test_api_terms_sends_api_requests_and_records_what_robots_said(
    counting_server: tuple[str, list[str], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, hits, robots = counting_server
    monkeypatch.delenv("CIVITAI_TOKEN", raising=False)
    report = run_crawl(_plan(url, tmp_path, None), timeout_s=120)  # civitai default
    assert report.status is RunStatus.SUCCEEDED, report.stats()
    assert len(robots) == 1 and len(hits) >= len(TERMS)  # read once, never blocking
    assert all(h.startswith("/api/v1/") for h in hits)
    fetched, overridden = report.platforms[0].robots
    assert fetched["api_access"] == "api-terms" and fetched["status"] == 200
    assert "sent under the platform's API terms" in overridden["rules"]

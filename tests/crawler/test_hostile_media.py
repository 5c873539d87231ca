"""A hostile platform's media URLs in a crawl: ``file:///etc/passwd`` and a loopback admin page
are refused by the fetch guard before anything is fetched or written; the crawl goes on and
lists each refusal with its URL."""

from __future__ import annotations

import gzip
from pathlib import Path

from evidence.models import RunStatus
from tests.support.crawl import make_setup
from tests.support.sandbox import SandboxFactory


def test_file_and_loopback_media_urls_are_refused(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    server = sandbox_factory(items=40, faults="file-url=2,admin-url=1")
    setup = make_setup(server, tmp_path)
    report = setup.crawl("civitai", full=True)
    assert report.status is RunStatus.PARTIAL, report.error  # the crawl finished, loudly
    hostile = {
        str(t["external_id"]): t["fault"]
        for t in server.truth()
        if t.get("fault") in ("file-url", "admin-url")
    }
    assert len(hostile) == 3
    rows = {c.external_id: c for c in setup.candidates("civitai") if c.kind.value == "image"}
    listed = {f.external_id: f for p in report.platforms for f in p.failures}
    reached = [external_id for external_id in hostile if external_id in rows]
    assert reached, "the crawl never reached a hostile item"
    for external_id in reached:
        row = rows[external_id]
        error = row.raw["crawl"]["media_error"]
        assert row.sha256 is None and row.raw["crawl"].get("media_path") is None
        failure = listed[external_id]
        assert "media:" in failure.reason
        if hostile[external_id] == "file-url":
            assert "scheme 'file'" in error and failure.url == "file:///etc/passwd", failure
        else:
            assert "port 9" in error and failure.url == "http://127.0.0.1:9/admin", failure
    warcs = list((tmp_path / "rightswatch-data" / "evidence" / "crawls").rglob("*.warc.gz"))
    assert warcs
    for warc in warcs:
        data = gzip.decompress(warc.read_bytes())
        assert b"root:x:0:0" not in data and b"WARC-Target-URI: file:" not in data

"""The crawl child's report file has one schema: PlatformReport.to_json / from_json."""

from __future__ import annotations

from pathlib import Path

from crawler.crawl import ListedFailure, PlatformReport, _read_report, write_report


def test_report_file_round_trips_typed_values(tmp_path: Path) -> None:
    written = (
        PlatformReport(
            name="civitai",
            finish_reason="finished",
            counters={"pages": 3, "candidates_new": 2},
            warc_file="/runs/run-1/civitai.warc.gz",
            match_note=None,
            failures=(ListedFailure("https://civitai.com/x", "failed", "HTTP 404", "image", "7"),),
        ),
        PlatformReport("hf", "shutdown", {}, None, "likeness engine not loaded"),
    )
    path = tmp_path / "report.json"
    write_report(path, written)
    assert _read_report(path) == written
    assert not path.with_suffix(".tmp").exists()

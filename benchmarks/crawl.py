"""Crawler throughput and memory against the sandbox (a printed table, not a timed test).

    .venv/bin/python -m benchmarks.crawl [--items 10000] [--gallery-items 60] [--skip-gallery]

1. API spiders (Civitai + Hugging Face) with every pipeline (WARC, walls, politeness
   middlewares; dedupe, media with bomb guard and hashes, match, record to SQLite), politeness
   delays off, on a ``--items`` sandbox. Search terms are the demo client's aliases plus the
   one-letter terms "a" and "e", so the listings reach most of the catalogue.
2. A bare Scrapy spider fetching exactly the URLs the full crawl fetched (read back from its
   WARC), same concurrency, no custom middleware and no pipeline, in a fresh process.
3. The gallery spider (Chromium) on a ``--gallery-items`` sandbox: rendered pages per minute.

Peak RSS is the crawl child's ``ru_maxrss`` (Linux KiB) and Scrapy's ``memusage/max``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.plan import CrawlPlan, Politeness, RobotsPolicy
from crawler.run import CrawlReport, run_crawl
from rightswatch.config import load_config
from rightswatch.crawling import plan_from_config
from sandbox.client import write_client
from tests.support.sandbox import start_sandbox

CONCURRENCY = 16
FAST = Politeness(
    concurrency=CONCURRENCY, delay_s=0.0, autothrottle=False, robots=RobotsPolicy.IGNORE
)


def _plan(
    root: Path, url: str, platforms: tuple[str, ...], extra_terms: tuple[str, ...]
) -> CrawlPlan:
    write_client(url, root)
    config = load_config(root / "watch.toml")
    plan = plan_from_config(config, f"sqlite:///{root / 'case.db'}", platforms=platforms)
    targets = tuple(
        dataclasses.replace(t, politeness=FAST, search_terms=t.search_terms + extra_terms)
        for t in plan.targets
    )
    return dataclasses.replace(plan, targets=targets, settings={"LOG_LEVEL": "WARNING"})


def _fetched_urls(report: CrawlReport) -> list[str]:
    urls: list[str] = []
    for platform in report.platforms:
        if platform.warc_file is None:
            continue
        with Path(platform.warc_file).open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "resource"):
                    urls.append(str(record.rec_headers.get_header("WARC-Target-URI")))
    return urls


def _bare(urls: list[str], root: Path) -> tuple[float, int]:
    """Fetch ``urls`` with a plain spider in a child process; (seconds, responses)."""
    url_file = root / "urls.json"
    url_file.write_text(json.dumps(urls), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.crawl", "--bare", str(url_file)],
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return float(data["seconds"]), int(data["responses"])


def bare_main(url_file: str) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = json.loads(Path(url_file).read_text(encoding="utf-8"))
    count = {"n": 0}

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):  # type: ignore[no-untyped-def]
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):  # type: ignore[no-untyped-def]
            count["n"] += 1

    process = CrawlerProcess(
        {
            "LOG_LEVEL": "WARNING",
            "REMOTE_CONTROL_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "CONCURRENT_REQUESTS": CONCURRENCY * 4,
            "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
            "DOWNLOAD_DELAY": 0,
            "HTTPERROR_ALLOW_ALL": True,
        }
    )
    started = time.perf_counter()
    process.crawl(Bare)
    process.start()
    print(json.dumps({"seconds": time.perf_counter() - started, "responses": count["n"]}))


def _elapsed(report: CrawlReport) -> float:
    return (report.finished_at - report.started_at).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--gallery-items", type=int, default=60)
    parser.add_argument("--skip-gallery", action="store_true")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_main(args.bare)
        return
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with start_sandbox(root / "sandbox", items=args.items) as server:
            plan = _plan(root / "api", server.url, ("civitai", "huggingface"), ("a", "e"))
            report = run_crawl(plan)
            rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            seconds = _elapsed(report)
            stored = report.totals["candidates_new"] + report.totals["candidates_updated"]
            urls = _fetched_urls(report)
            bare_s, bare_n = _bare(urls, root)
            rows += [
                ("sandbox items", str(args.items)),
                ("API crawl status", report.status.value),
                ("API candidates stored", str(stored)),
                ("API responses (WARC)", str(len(urls))),
                ("API crawl wall time incl. process start (s)", f"{seconds:.1f}"),
                ("API candidates/s", f"{stored / seconds:.1f}"),
                ("bare spider, same URLs (s)", f"{bare_s:.1f} ({bare_n} responses)"),
                ("overhead ratio (full / bare)", f"{seconds / bare_s:.2f}x"),
                ("crawl child peak RSS (MiB)", f"{rss_kib / 1024:.0f}"),
            ]
        if not args.skip_gallery:
            with start_sandbox(root / "sandbox-g", items=args.gallery_items) as server:
                plan = _plan(root / "gallery", server.url, ("gallery",), ())
                report = run_crawl(plan)
                rendered = sum(
                    1
                    for p in report.platforms
                    for u in _fetched_urls(report)
                    if "/gallery/" in u and "/api/" not in u and "/cdn/" not in u
                ) // max(len(report.platforms), 1)
                minutes = _elapsed(report) / 60
                rows += [
                    ("gallery items (sandbox)", str(args.gallery_items)),
                    ("gallery candidates stored", str(report.totals["candidates_new"])),
                    ("gallery rendered pages", str(rendered)),
                    ("gallery pages/min", f"{rendered / minutes:.1f}"),
                ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


if __name__ == "__main__":
    main()

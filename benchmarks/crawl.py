"""Crawler throughput and memory against the sandbox (a printed table, not a timed test).

    .venv/bin/python -m benchmarks.crawl [--items 10000] [--rounds 3] [--gallery-items 60]
                                         [--skip-gallery] [--skip-stages]

1. API spiders (Civitai + Hugging Face) with every pipeline (WARC, walls, politeness
   middlewares; dedupe, media with bomb guard and hashes, match, record to SQLite), politeness
   delays off, on a ``--items`` sandbox. Search terms are the demo client's aliases plus the
   one-letter terms "a" and "e", so the listings reach most of the catalogue. This first crawl
   also warms the sandbox, which renders each image on its first request and caches it: its
   time is printed but not compared, since the bare spider would otherwise be timed against a
   warm sandbox and the crawl against a cold one.
2. ``--rounds`` times, on the warm sandbox: a bare Scrapy spider fetching exactly the URLs the
   first crawl fetched (read back from its WARC), same concurrency, no custom middleware and no
   pipeline, in a fresh process; then the full crawl again into a fresh case file. Medians of
   the rounds are the figures (each round's ratio is printed too).
3. The same API crawl again into a fresh case file, in a child wrapped with stage timers
   (``benchmarks/crawl_stages.py``): CPU seconds per stage (WARC digests and gzip, JSON
   parsing, spider callbacks, content fingerprint, media, matching, database work and
   commits), per stored candidate. Skipped with ``--skip-stages``.
4. gzip at levels 9 (warcio's), 6 and 1, as the writer does now (level 6, JPEG/WebP/GIF bodies
   stored), and SHA-256, on the records of the WARC the first crawl wrote (CPU per
   record and bytes on disk).
5. The gallery spider (Chromium) on a ``--gallery-items`` sandbox: rendered pages per minute.

Peak RSS is the crawl child's ``ru_maxrss`` (Linux KiB) and Scrapy's ``memusage/max``. CPU is
``getrusage`` user + system time of the child processes (the crawl child, the bare spider):
their own, whatever else the machine runs. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.crawl import CrawlReport, open_run, run_crawl
from crawler.plan import CrawlPlan, Politeness, RobotsPolicy
from evidence.capture.warc import GZIP_LEVEL, gzip_member
from evidence.store import Store
from rightswatch.config import load_config
from rightswatch.crawling import plan_from_config
from rightswatch.library import sync_config
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
    """The URLs the crawl fetched, from its WARC; a "busy" answer (429, 503) that the crawl
    retried is left out, as the crawls on the warm sandbox do not meet it again."""
    urls: list[str] = []
    for platform in report.platforms:
        if platform.warc_file is None:
            continue
        with Path(platform.warc_file).open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type not in ("response", "resource"):
                    continue
                status = record.http_headers.get_statuscode() if record.http_headers else None
                if status not in ("429", "503"):
                    urls.append(str(record.rec_headers.get_header("WARC-Target-URI")))
    return urls


@dataclasses.dataclass(frozen=True)
class Timed:
    """One timed run: wall seconds (crawling only, and including the process start), child CPU
    seconds, responses or candidates."""

    seconds: float
    whole_s: float
    cpu_s: float
    count: int


def _bare(urls: list[str], root: Path) -> Timed:
    """Fetch ``urls`` with a plain spider in a child process (the crawl child's start is in the
    full crawl's figure, so ``whole_s`` is the like-for-like baseline)."""
    url_file = root / "urls.json"
    url_file.write_text(json.dumps(urls), encoding="utf-8")
    cpu_before = _children_cpu()
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.crawl", "--bare", str(url_file)],
        check=True,
        capture_output=True,
        text=True,
    )
    whole = time.perf_counter() - started
    data = json.loads(out.stdout.strip().splitlines()[-1])
    cpu = _children_cpu() - cpu_before
    return Timed(float(data["seconds"]), whole, cpu, int(data["responses"]))


def _full(plan: CrawlPlan) -> tuple[Timed, CrawlReport]:
    """The full crawl (``run_crawl``: its figure includes the child's start)."""
    cpu_before = _children_cpu()
    report = run_crawl(plan)
    cpu = _children_cpu() - cpu_before
    stored = report.totals["candidates_new"] + report.totals["candidates_updated"]
    seconds = _elapsed(report)
    return Timed(seconds, seconds, cpu, stored), report


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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _staged(plan: CrawlPlan, config_file: Path, profile: str | None) -> dict[str, object]:
    """The crawl again in a child wrapped with stage timers; benchmarks/crawl_stages.py's JSON.

    The client's reference library is synced first, so the likeness engine judges every
    candidate (the timed crawl above runs without it, as the earlier figures did).
    """
    store = Store.open(plan.database_url)
    sync_config(store, load_config(config_file))
    run_id, _ = open_run(store, plan, None)
    store.dispose()
    plan = dataclasses.replace(plan, run_id=run_id)
    run_dir = plan.output_dir / f"run-{run_id}"
    run_dir.mkdir(parents=True, exist_ok=True)
    plan_file, out = run_dir / "plan.json", run_dir / "stages.json"
    report = run_dir / "report.json"
    plan_file.write_text(plan.to_json(), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.crawl_stages", str(plan_file), str(report), str(out)]
        + ([profile] if profile else []),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    data: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    platforms = json.loads(report.read_text(encoding="utf-8"))["platforms"]
    data["stored"] = sum(
        int(p["counters"]["candidates_new"]) + int(p["counters"]["candidates_updated"])
        for p in platforms
    )
    return data


def _stage_rows(data: dict[str, object]) -> list[tuple[str, str]]:
    stored = max(int(str(data["stored"])), 1)
    total = float(str(data["process_cpu_s"]))
    stages: dict[str, float] = dict(data["stages"])  # type: ignore[call-overload]
    rows = [
        ("staged crawl (likeness engine on): candidates stored", str(stored)),
        ("staged crawl: child CPU after imports (s)", f"{total:.1f}"),
        ("staged crawl: CPU per candidate (ms)", f"{1000 * total / stored:.1f}"),
    ]
    other = total - sum(stages.values())
    ranked = sorted(stages.items(), key=lambda kv: -kv[1])
    for name, seconds in [*ranked, ("other (Scrapy engine, Twisted, HTTP, middlewares)", other)]:
        rows.append(
            (
                f"  stage: {name}",
                f"{seconds:.2f} s, {1000 * seconds / stored:.2f} ms/candidate, "
                f"{100 * seconds / total:.0f} %",
            )
        )
    if data.get("missing"):
        rows.append(("  not wrapped (absent)", ", ".join(map(str, data["missing"]))))  # type: ignore[call-overload]
    return rows


def _members(paths: list[Path]) -> list[bytes]:
    """The uncompressed bytes of every gzip member (one WARC record each)."""
    members: list[bytes] = []
    for path in paths:
        data = path.read_bytes()
        while data:
            inflater = zlib.decompressobj(wbits=31)
            members.append(inflater.decompress(data) + inflater.flush())
            data = inflater.unused_data
    return members


def _gzip_rows(report: CrawlReport) -> list[tuple[str, str]]:
    paths = [Path(p.warc_file) for p in report.platforms if p.warc_file]
    members = _members([p for p in paths if p.exists()])
    if not members:
        return []
    raw = sum(len(m) for m in members)
    rows = [("WARC records re-encoded", f"{len(members)} ({raw / 2**20:.1f} MiB uncompressed)")]
    for level in (9, 6, 1):
        started, size = time.process_time(), 0
        for member in members:
            deflate = zlib.compressobj(level, zlib.DEFLATED, 31)
            size += len(deflate.compress(member) + deflate.flush())
        cpu = time.process_time() - started
        rows.append(
            (
                f"  gzip level {level}",
                f"{1000 * cpu / len(members):.3f} ms/record, {size / 2**20:.2f} MiB",
            )
        )
    started, size = time.process_time(), 0
    for member in members:  # as the writer does now: level 6, JPEG/WebP/GIF stored
        stored = re.search(rb"\r\nContent-Type: (image/(jpeg|webp|gif))", member[:4096])
        size += len(gzip_member(member, 0 if stored else GZIP_LEVEL))
    cpu = time.process_time() - started
    rows.append(
        (
            f"  as written: level {GZIP_LEVEL}, JPEG/WebP/GIF bodies stored",
            f"{1000 * cpu / len(members):.3f} ms/record, {size / 2**20:.2f} MiB",
        )
    )
    started = time.process_time()
    for member in members:
        hashlib.sha256(member).digest()
    cpu = time.process_time() - started
    rows.append(("  SHA-256 (one pass)", f"{1000 * cpu / len(members):.3f} ms/record"))
    return rows


def _median(runs: list[Timed]) -> Timed:
    """Each field's median over the rounds (fields apart, so a figure is one a round had)."""
    return Timed(
        statistics.median(r.seconds for r in runs),
        statistics.median(r.whole_s for r in runs),
        statistics.median(r.cpu_s for r in runs),
        int(statistics.median(r.count for r in runs)),
    )


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _elapsed(report: CrawlReport) -> float:
    return (report.finished_at - report.started_at).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="bare + full pairs to time")
    parser.add_argument("--gallery-items", type=int, default=60)
    parser.add_argument("--skip-gallery", action="store_true")
    parser.add_argument("--skip-stages", action="store_true")
    parser.add_argument("--profile", help="also write a cProfile of the staged crawl's reactor")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_main(args.bare)
        return
    rows: list[tuple[str, str]] = [("load average before (1, 5, 15 min)", _load())]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with start_sandbox(root / "sandbox", items=args.items) as server:
            terms = ("a", "e")
            first, report = _full(
                _plan(root / "api", server.url, ("civitai", "huggingface"), terms)
            )
            rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            urls = _fetched_urls(report)
            bares: list[Timed] = []
            fulls: list[Timed] = []
            for n in range(args.rounds):
                bares.append(_bare(urls, root))
                plan = _plan(root / f"api-{n}", server.url, ("civitai", "huggingface"), terms)
                fulls.append(_full(plan)[0])
            bare, full = _median(bares), _median(fulls)
            rows += [
                ("sandbox items", str(args.items)),
                ("API crawl status", report.status.value),
                ("API candidates stored", str(first.count)),
                ("API responses (WARC)", str(len(urls))),
                (
                    "API retries (polite back-off)",
                    str(sum(p.counters.get("retries", 0) for p in report.platforms)),
                ),
                ("first crawl, cold sandbox, incl. process start (s)", f"{first.seconds:.1f}"),
                ("rounds on the warm sandbox (bare, then full)", str(args.rounds)),
                ("full crawl incl. process start, median (s)", f"{full.seconds:.1f}"),
                ("API candidates/s", f"{full.count / full.seconds:.1f}"),
                ("crawl child CPU incl. start-up, median (s)", f"{full.cpu_s:.2f}"),
                (
                    "crawl child CPU per candidate (ms)",
                    f"{1000 * full.cpu_s / max(full.count, 1):.1f}",
                ),
                (
                    "bare spider, same URLs, median (s)",
                    f"{bare.seconds:.1f} ({bare.count} responses)",
                ),
                ("bare spider incl. process start, median (s)", f"{bare.whole_s:.1f}"),
                ("bare spider CPU incl. start-up, median (s)", f"{bare.cpu_s:.2f}"),
                ("overhead ratio (full / bare), median", f"{full.seconds / bare.seconds:.2f}x"),
                ("ratio, both incl. process start, median", f"{full.seconds / bare.whole_s:.2f}x"),
                (
                    "  per round: full / bare / bare incl. start (s)",
                    "; ".join(
                        f"{f.seconds:.1f} / {b.seconds:.1f} / {b.whole_s:.1f}"
                        for f, b in zip(fulls, bares, strict=True)
                    ),
                ),
                ("crawl child peak RSS (MiB)", f"{rss_kib / 1024:.0f}"),
            ]
            rows += _gzip_rows(report)
            if not args.skip_stages:
                staged = _plan(root / "staged", server.url, ("civitai", "huggingface"), ("a", "e"))
                config_file = root / "staged" / "watch.toml"
                rows += _stage_rows(_staged(staged, config_file, args.profile))
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
    rows.append(("load average after (1, 5, 15 min)", _load()))
    width = max(len(k) for k, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


if __name__ == "__main__":
    main()

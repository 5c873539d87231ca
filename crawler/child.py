"""Inside the crawl child process: one Scrapy crawler per platform, one reactor, one report.

Each platform gets its own :class:`scrapy.crawler.Crawler` with its own settings (politeness,
robots policy, host allowlist, and for galleries the Playwright handler), and all run together
in one ``CrawlerProcess``. Objects that must be shared (the store, the likeness engine, what
earlier runs saw) are handed to the spiders as arguments, because Scrapy deep-copies settings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from scrapy.spiders import Spider

from crawler.crawl import PlatformReport, write_report
from crawler.engine_builder import load_engine
from crawler.middlewares.warc import warc_path
from crawler.plan import CrawlPlan, PlatformTarget
from crawler.settings import BASE, settings_for
from crawler.spiders.civitai import CivitaiSpider
from crawler.spiders.gallery import GallerySpider
from crawler.spiders.huggingface import HuggingFaceSpider
from crawler.state import SeenIndex
from evidence.kinds import PlatformKind
from evidence.queries.seen import stored_fingerprints
from evidence.redact import redact_logs
from evidence.store import Store
from matching.index import limit_threads

SPIDERS: dict[PlatformKind, type[Spider]] = {
    PlatformKind.CIVITAI: CivitaiSpider,
    PlatformKind.HUGGINGFACE: HuggingFaceSpider,
    PlatformKind.GALLERY: GallerySpider,
}

PROCESS_WIDE = (
    "TWISTED_REACTOR",
    "REMOTE_CONTROL_ENABLED",
    "TELNETCONSOLE_ENABLED",
    "LOG_LEVEL",
    "BOT_NAME",
)

COUNTER_KEYS = {
    "pages": "response_received_count",
    "candidates_new": "rightswatch/candidates_new",
    "candidates_updated": "rightswatch/candidates_updated",
    "candidates_unchanged": "rightswatch/candidates_unchanged",
    "failed": "rightswatch/failures/failed",
    "blocked": "rightswatch/failures/blocked",
    "findings_new": "rightswatch/findings_new",
    "media_failed": "rightswatch/media_failed",
    "judged": "rightswatch/judged",
    "match_skipped": "rightswatch/match_skipped",
    "incremental_stops": "rightswatch/incremental_stops",
    "retries": "retry/count",
    "hosts_refused": "rightswatch/hosts_refused",
    "walls": "rightswatch/walls",
}


def answered(stats: dict[str, Any]) -> int:
    """Responses the platform answered with a 2xx or 3xx status (errors and refusals are not)."""
    prefix = "downloader/response_status_count/"
    return sum(
        int(value)
        for key, value in stats.items()
        if key.startswith(prefix) and key[len(prefix) :][:1] in ("2", "3")
    )


def load_seen(store: Store, platform: str) -> SeenIndex:
    """Fingerprints of the content stored for ``platform`` (failed rows are not 'seen')."""
    return SeenIndex(platform=platform, entries=stored_fingerprints(store, platform))


def crawler_settings(plan: CrawlPlan, target: PlatformTarget) -> dict[str, Any]:
    run = str(plan.run_id) if plan.run_id is not None else "adhoc"
    run_dir = plan.output_dir / f"run-{run}"
    extra: dict[str, Any] = {
        "RW_RUN_ID": run,
        "RW_OUTPUT_DIR": str(plan.output_dir),
        "RW_WARC_DIR": str(run_dir),
        "RW_OPERATOR": plan.operator,
        "RW_BASE_URL": target.base_url,
        "RW_PLATFORM_NAME": target.name,
        "RW_ALLOWED_HOSTS": sorted(target.hosts()),
        "RW_ALLOWED_HOSTS_KEY": f"allowed_hosts of [[platforms]] {target.name!r}",
        "LOG_FILE": str(run_dir / "crawl.log"),
        "EXTENSIONS": {"crawler.progress.ProgressExtension": 500},
        **plan.settings,
    }
    return settings_for(target, extra, contact=plan.contact)


def crawl_in_this_process(plan: CrawlPlan, report_file: Path) -> None:
    limit_threads(1)  # see crawler.crawl.main: the likeness engine judges on one thread
    store = Store.open(plan.database_url, upgrade=False)
    likeness = load_engine(store, plan.match)
    run = str(plan.run_id) if plan.run_id is not None else "adhoc"
    # The runner's settings are merged into every crawler at equal priority, so the root
    # carries only what is process-wide; per-platform settings go in at "cmdline" priority.
    root = {k: BASE[k] for k in PROCESS_WIDE}
    root["LOG_FILE"] = str(plan.output_dir / f"run-{run}" / "crawl.log")
    process = CrawlerProcess(root, install_root_handler=True)
    logging.getLogger(__name__).info("%s", likeness.note)
    reasons: dict[str, str] = {}
    crawlers: list[tuple[PlatformTarget, Crawler]] = []
    for index, target in enumerate(plan.targets):
        settings = Settings()
        settings.setdict(crawler_settings(plan, target), priority="cmdline")
        crawler = Crawler(SPIDERS[target.kind], settings, init_reactor=index == 0)

        def closed(spider: Spider, reason: str) -> None:
            reasons[spider.name] = reason

        crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
        process.crawl(
            crawler,
            target=target,
            seen=load_seen(store, target.name),
            full=plan.full,
            max_items=plan.max_items,
            store=store,
            likeness=likeness,
        )
        crawlers.append((target, crawler))
    redact_logs()  # Scrapy logs every URL it fetches; a token in one never reaches the log
    process.start(install_signal_handlers=True)
    platforms: list[PlatformReport] = []
    for target, crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats is not None else {}
        platforms.append(
            PlatformReport(
                name=target.name,
                finish_reason=reasons.get(target.name, "not started"),
                counters={
                    **{k: int(stats.get(v, 0)) for k, v in COUNTER_KEYS.items()},
                    "answered": answered(stats),
                },
                warc_file=str(warc_path(plan.output_dir / f"run-{run}", run, target.name)),
                match_note=likeness.note,
                failures=tuple(stats.get("rightswatch/failure_list", [])),
                error=stats.get("rightswatch/platform_error"),
                notes=tuple(stats.get("rightswatch/notes", [])),
                robots=tuple(stats.get("rightswatch/robots", [])),
                waits=tuple(stats.get("rightswatch/host_waits", [])),
            )
        )
    store.dispose()
    write_report(report_file, platforms)

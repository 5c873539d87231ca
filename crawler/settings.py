"""Scrapy settings for every crawl, grouped and commented; per-platform values on top.

:func:`settings_for` merges :data:`BASE` with the platform's politeness (platforms.md §1.9,
§2.4, §5) and, for the JavaScript gallery, the scrapy-playwright handler on Debian's Chromium
(stack.md §3-4). Nothing here has side effects at import.
"""

from __future__ import annotations

from typing import Any

from crawler.browser import BrowserGate, context_options
from crawler.identity import user_agent
from crawler.plan import PlatformTarget
from evidence.capture.chromium import CHROMIUM_ARGS, CHROMIUM_PATH
from evidence.guard import FetchPolicy
from evidence.models import PlatformKind

USER_AGENT = user_agent("")  # settings_for puts the operator's contact in

BASE: dict[str, Any] = {
    # --- Engine and safety -------------------------------------------------------------
    "BOT_NAME": "rightswatch",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "REMOTE_CONTROL_ENABLED": False,  # 2.19 turns on a code-execution HTTP server by default
    "TELNETCONSOLE_ENABLED": False,
    "HTTPCACHE_ENABLED": False,  # evidence must come from the wire; breaks playwright pages
    "COOKIES_ENABLED": False,  # anonymous, stateless monitoring
    "LOG_LEVEL": "INFO",
    "STATS_DUMP": True,
    "MEMUSAGE_ENABLED": True,
    # --- Identity ------------------------------------------------------------------------
    "USER_AGENT": USER_AGENT,
    "DEFAULT_REQUEST_HEADERS": {"Accept": "application/json, text/html;q=0.9, */*;q=0.5"},
    # --- Politeness (per-platform values replace these in settings_for) -------------------
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "DOWNLOAD_DELAY": 1.0,
    "DOWNLOAD_DELAY_JITTER": 0.5,  # each delay is 0.5-1.5x DOWNLOAD_DELAY
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,  # platforms.md §1.9: back off from ~1 s, cap ~30 s
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    # robots.txt is fetched and parsed by RobotsPolicyMiddleware before a host's requests
    # leave (Scrapy's own middleware lets disallowed requests through under concurrency,
    # real-platforms.md last section); API requests follow RW_API_ACCESS.
    "ROBOTSTXT_OBEY": False,
    "RW_API_ACCESS": "robots",
    "RW_PAGE_ROBOTS": "obey",
    "RW_CONTACT": "",
    # --- Schemes: http(s) only. Scrapy's file, data, ftp and s3 handlers are off, so a
    # --- hostile URL in a platform's JSON can never read the disk or reach another store. --
    "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None},
    # --- Limits --------------------------------------------------------------------------
    "DOWNLOAD_MAXSIZE": 16 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 4 * 1024 * 1024,
    "DOWNLOAD_TIMEOUT": 30,
    "DOWNLOAD_FAIL_ON_DATALOSS": True,  # a truncated body is an error, never content
    "REDIRECT_MAX_TIMES": 5,
    "DEPTH_LIMIT": 0,
    # --- Retries: the built-in retry is replaced by the politeness middleware's, which
    # --- honours Retry-After on 429/503 and backs off exponentially. -----------------------
    "RETRY_ENABLED": False,
    "RW_RETRY_TIMES": 4,
    "RW_RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
    "RW_RETRY_BACKOFF_BASE": 1.0,
    "RW_RETRY_BACKOFF_MAX": 30.0,
    "RW_RETRY_AFTER_MAX": 600.0,  # the longest host pause accepted on a 429
    "RW_RATELIMIT_LOW": 0.1,  # below this share of the quota left, the host is slowed
    # --- Middlewares ---------------------------------------------------------------------
    # process_request runs from the lowest number up: the fetch guard (40) judges every
    # request, redirects included, before anything else. process_response runs from the
    # highest number down: the guard's address check (990) refuses a response from a private
    # address before the WARC writer (960) sees it, with its bytes still encoded as received
    # (HttpCompression is 590); walls (955) then classify it; politeness (540) retries.
    "DOWNLOADER_MIDDLEWARES": {
        "crawler.middlewares.politeness.FetchGuardMiddleware": 40,
        "crawler.middlewares.robots.RobotsPolicyMiddleware": 45,
        "crawler.middlewares.politeness.FetchGuardResponseMiddleware": 990,
        "crawler.middlewares.politeness.PoliteRetryMiddleware": 540,
        "crawler.middlewares.walls.WallDetectionMiddleware": 955,
        "crawler.middlewares.warc.WarcRecorderMiddleware": 960,
    },
    "SPIDER_MIDDLEWARES": {},
    # --- Pipelines: dedupe -> media -> match -> record ------------------------------------
    "ITEM_PIPELINES": {
        "crawler.pipelines.dedupe.DedupePipeline": 100,
        "crawler.pipelines.media.MediaPipeline": 200,
        "crawler.pipelines.match.MatchPipeline": 300,
        "crawler.pipelines.record.RecordPipeline": 400,
    },
    # Scrapy starts CONCURRENT_ITEMS worker tasks for each response's output (default 100).
    # A response yields at most a page of items, the per-host request limit is far lower, and
    # the pipelines' waits (media download, the database thread) overlap across responses:
    # 16 loses no parallelism and costs ~11 % less crawl CPU (docs/performance.md, Crawler).
    "CONCURRENT_ITEMS": 16,
    "RW_MEDIA_MAX_BYTES": 25 * 1024 * 1024,
    "RW_MEDIA_MAX_PIXELS": 64_000_000,  # decompression-bomb guard, checked before decoding
    "RW_INCREMENTAL_STOP_RUN": 10,  # consecutive already-seen items that end a Newest listing
}


PLAYWRIGHT: dict[str, Any] = {
    # Only the schemes in use get a handler: each handler launches its own browser.
    "PLAYWRIGHT_BROWSER_TYPE": "chromium",
    "PLAYWRIGHT_LAUNCH_OPTIONS": {
        "executable_path": CHROMIUM_PATH,
        "headless": True,
        "timeout": 30_000,
        "args": list(CHROMIUM_ARGS),
    },
    "PLAYWRIGHT_MAX_CONTEXTS": 1,
    "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 2,
    "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
    # PLAYWRIGHT_ABORT_REQUEST (the host policy, pauses and pacing of crawler.browser) and
    # PLAYWRIGHT_CONTEXTS (User-Agent, login session) are set per platform in settings_for.
}


def settings_for(
    target: PlatformTarget, extra: dict[str, Any] | None = None, *, contact: str = ""
) -> dict[str, Any]:
    """Settings for one platform's crawler (``contact`` goes into the User-Agent)."""
    polite = target.politeness
    settings = dict(BASE)
    agent = user_agent(contact)
    settings.update(
        {
            "USER_AGENT": agent,
            "RW_CONTACT": contact,
            "RW_API_ACCESS": target.api_access.value,
            "RW_PAGE_ROBOTS": polite.robots.value,
            "CONCURRENT_REQUESTS_PER_DOMAIN": polite.concurrency,
            "CONCURRENT_REQUESTS": max(polite.concurrency * 4, 8),
            "DOWNLOAD_DELAY": polite.delay_s,
            "AUTOTHROTTLE_ENABLED": polite.autothrottle,
            "AUTOTHROTTLE_START_DELAY": max(polite.delay_s, 0.0),
            "AUTOTHROTTLE_TARGET_CONCURRENCY": float(polite.concurrency),
            "DOWNLOAD_MAXSIZE": polite.max_response_bytes,
            "DOWNLOAD_WARNSIZE": min(polite.max_response_bytes, BASE["DOWNLOAD_WARNSIZE"]),
            "DOWNLOAD_TIMEOUT": polite.timeout_s,
            "RW_RETRY_TIMES": polite.retries,
            "RW_RETRY_AFTER_MAX": polite.max_retry_after_s,
        }
    )
    if target.kind is PlatformKind.GALLERY:
        scheme = "https" if target.base_url.startswith("https") else "http"
        settings.update(PLAYWRIGHT)
        settings["DOWNLOAD_HANDLERS"] = {
            **BASE["DOWNLOAD_HANDLERS"],
            scheme: "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        }
        # Chromium sends the same named agent as every Scrapy request (not HeadlessChrome),
        # and the login session when the adapter names one.
        storage = target.gallery.storage_state if target.gallery is not None else None
        settings["PLAYWRIGHT_CONTEXTS"] = {"default": context_options(agent, storage)}
        hosts = sorted(target.hosts())  # as the downloader's guard gets them (RW_ALLOWED_HOSTS)
        settings["PLAYWRIGHT_ABORT_REQUEST"] = BrowserGate(
            policy=FetchPolicy.for_platform(target.base_url, hosts),
            delay_s=polite.delay_s,
            max_pause_s=polite.max_retry_after_s,
        )
        settings["PLAYWRIGHT_MAX_PAGES_PER_CONTEXT"] = max(polite.concurrency, 1)
        settings["PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT"] = int(polite.timeout_s * 1000)
    settings.update(extra or {})
    return settings

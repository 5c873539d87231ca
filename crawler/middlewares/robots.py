"""robots.txt and API terms, decided per request before it leaves the process.

Scrapy's ``RobotsTxtMiddleware`` lets disallowed requests through when many wait for the same
robots.txt (2.19: the first waiter gets the parser, the others ``None``, read as "allowed";
real-platforms.md, last section). This middleware replaces it (``ROBOTSTXT_OBEY`` is off):

- A request is an **API** request (``request.meta["rw_access"] == "api"``, or the spider's
  ``default_access``) or a **page** request. Redirects keep the request's meta, so a
  download's CDN redirect stays an API request.
- API requests follow ``RW_API_ACCESS``: ``api-terms`` sends them under the platform's API
  terms whatever robots.txt says (Civitai documents its REST API for programmatic use with a
  token while its robots.txt disallows ``/api/*``, real-platforms.md Civitai 1); robots.txt is
  still read and archived, and the first API request it would disallow on a host is recorded
  as sent under the API terms. ``robots`` makes API requests obey robots.txt like pages.
- Page requests obey robots.txt unless ``RW_PAGE_ROBOTS`` is ``ignore``.
- For a host whose rules are needed, robots.txt is fetched once through the downloader (so it
  is archived in the WARC like every response); every request for that host awaits the same
  future and gets the same rules, and only then is either sent or refused with
  :class:`RobotsRefused`. What the answer means (4xx no rules, 5xx or no answer "disallow
  everything", RFC 9309 §2.3.1.3-4) and whether a URL is allowed is the one policy in
  :mod:`evidence.robots`, which the evidence capture applies to page captures too.

Each decision (host, robots.txt URL, status, SHA-256 of its body, the policy applied) is sent
with the :data:`robots_decided` signal (the WARC writer archives it as a ``metadata`` record)
and kept in the stats for the run report. When every request the spider made was refused,
the stats carry ``rightswatch/platform_error``: a message naming the setting to change.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import asdict
from typing import Self
from urllib.parse import urlsplit

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.plan import ApiAccess, RobotsPolicy
from evidence.robots import (
    ROBOTS_MAX_BYTES,
    RobotsDecision,
    RobotsRules,
    page_refusal,
    rules_from_answer,
    unreadable,
)

__all__ = ["RobotsDecision", "RobotsPolicyMiddleware", "RobotsRefused", "robots_decided"]

META_ROBOTS_FETCH = "rw_robots_fetch"
META_ACCESS = "rw_access"  # "api" or "page"
robots_decided = object()  # signal: (decision: RobotsDecision)


class RobotsRefused(IgnoreRequest):
    """A request robots.txt disallows under the platform's policy."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class RobotsPolicyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.api_access = ApiAccess(settings.get("RW_API_ACCESS") or "robots")
        self.pages = RobotsPolicy(settings.get("RW_PAGE_ROBOTS") or "obey")
        self.agent = str(settings.get("USER_AGENT") or "rightswatch")
        self.platform = str(settings.get("RW_PLATFORM_NAME") or "")
        self._rules: dict[str, asyncio.Future[RobotsRules]] = {}
        self._terms_hosts: set[str] = set()
        self.sent = 0
        self.refused = 0
        self.first_refused: tuple[str, str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    # --- decisions ------------------------------------------------------------------------
    def _access(self, request: Request) -> str:
        spider = self.crawler.spider
        default = getattr(spider, "default_access", "page")
        return str(request.meta.get(META_ACCESS, default))

    def _note(self, decision: RobotsDecision) -> None:
        assert self.crawler.stats is not None
        found = self.crawler.stats.get_value("rightswatch/robots", [])
        self.crawler.stats.set_value("rightswatch/robots", [*found, asdict(decision)])
        self.crawler.signals.send_catch_log(robots_decided, decision=decision)

    async def process_request(self, request: Request) -> None:
        if request.meta.get(META_ROBOTS_FETCH):
            return
        parts = urlsplit(request.url)
        host = parts.netloc.lower()
        api = self._access(request) == "api"
        if api and self.api_access is ApiAccess.API_TERMS:
            # robots.txt is still read and archived, so the record shows what it said and
            # that the API terms were applied instead; it never blocks an API request.
            rules = await self._rules_for(parts.scheme, host)
            if host not in self._terms_hosts and not rules.allowed(request.url, self.agent):
                self._terms_hosts.add(host)
                self._note(
                    dataclasses.replace(
                        rules.decision,
                        rules=f"{rules.decision.rules}; disallows {parts.path} and the like, "
                        "sent under the platform's API terms (api_access = api-terms)",
                    )
                )
            self.sent += 1
            return
        if not api and self.pages is RobotsPolicy.IGNORE:
            self.sent += 1
            return
        rules = await self._rules_for(parts.scheme, host)
        if not rules.allowed(request.url, self.agent):
            self._refuse(request, rules.decision, api)
        self.sent += 1

    def _refuse(self, request: Request, decision: RobotsDecision, api: bool) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("rightswatch/robots_refused")
        if api:
            fix = (
                f'set api_access = "api-terms" in [platforms.politeness] of platform '
                f"{self.platform!r} to call its documented API under its API terms"
            )
            reason = (
                f"robots.txt ({decision.robots_url}, {decision.rules}) disallows an API "
                f"request; {fix}"
            )
        else:
            reason = page_refusal(decision, self.platform)
        self.refused += 1
        if self.first_refused is None:
            self.first_refused = (request.url, reason)
        raise RobotsRefused(request.url, reason)

    # --- robots.txt -----------------------------------------------------------------------
    async def _rules_for(self, scheme: str, host: str) -> RobotsRules:
        key = f"{scheme}://{host}"
        future = self._rules.get(key)
        if future is not None:
            return await asyncio.shield(future)  # every waiter gets the same rules
        future = asyncio.get_running_loop().create_future()
        self._rules[key] = future
        try:
            rules = await self._fetch(f"{key}/robots.txt")
        except Exception as exc:  # noqa: BLE001 - any failure to read means "disallow all"
            rules = unreadable(
                key,
                None,
                f"{type(exc).__name__}: {exc}",
                api_access=self.api_access.value,
                pages=self.pages.value,
            )
        future.set_result(rules)
        self._note(rules.decision)
        return rules

    async def _fetch(self, url: str) -> RobotsRules:
        request = Request(
            url,
            meta={
                META_ROBOTS_FETCH: True,
                "download_maxsize": ROBOTS_MAX_BYTES,
                "rw_no_wall_check": True,
                "handle_httpstatus_all": True,
            },
            dont_filter=True,
        )
        assert self.crawler.engine is not None
        response: Response = await self.crawler.engine.download_async(request)
        return rules_from_answer(
            url,
            response.status,
            response.body,
            api_access=self.api_access.value,
            pages=self.pages.value,
        )

    # --- the platform's verdict -----------------------------------------------------------
    def spider_closed(self, spider: scrapy.Spider) -> None:
        if self.first_refused is None or self.sent > 0:
            return
        url, reason = self.first_refused
        message = (
            f"platform {self.platform!r}: nothing was crawled, all {self.refused} requests were "
            f"refused; first {url}: {reason}"
        )
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("rightswatch/platform_error", message)
        spider.logger.error("%s", message)

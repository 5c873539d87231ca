"""Politeness and robustness: the fetch guard per platform, and retries that back off.

:class:`FetchGuardMiddleware` (priority 40) passes every request, redirects included, through
the one fetch guard (:mod:`evidence.guard`): http(s) only, the platform's host entries and
patterns with their ports, and no private, loopback or link-local address after DNS unless the
operator named the host as local (the sandbox). :class:`FetchGuardResponseMiddleware` (990)
repeats the address check on the address a response actually came from, against DNS
rebinding, before the WARC writer (960) sees the body. :class:`PoliteRetryMiddleware` (540,
replacing Scrapy's RetryMiddleware) retries 429/5xx and transport errors with exponential
back-off, and honours ``Retry-After`` (seconds or HTTP date) and Hugging Face's
``RateLimit: ...;t=<s>`` header on 429 and 503 (platforms.md §1.9, §2.4). A ``Retry-After``
beyond the cap gives up at once rather than hold the crawl; a 429 pauses the whole host
(:mod:`crawler.middlewares.ratelimit`). Per-platform concurrency, delay, AutoThrottle, size and
time limits are Scrapy settings (crawler/settings.py); the robots.txt and API-terms policy
(:mod:`crawler.middlewares.robots`) and the User-Agent are logged at start.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urlsplit

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.utils.misc import load_object

from crawler.middlewares.ratelimit import host_gate, host_of
from evidence.exceptions import FetchRefused
from evidence.guard import FetchPolicy

_RATELIMIT_T = re.compile(r";\s*t\s*=\s*(\d+)")
_RATELIMIT_R = re.compile(r";\s*r\s*=\s*(\d+)")


class HostRefused(IgnoreRequest):
    """A request the fetch guard refused (scheme, host, port or address)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def policy_from_settings(settings: Settings) -> FetchPolicy:
    """The platform's fetch policy: its base URL plus ``RW_ALLOWED_HOSTS`` entries."""
    base = str(settings.get("RW_BASE_URL") or "")
    if not base:
        return FetchPolicy.public()
    hosts = [h for h in settings.getlist("RW_ALLOWED_HOSTS") if h]
    return FetchPolicy.for_platform(
        base, hosts, setting=str(settings.get("RW_ALLOWED_HOSTS_KEY") or "allowed_hosts")
    )


class _GuardBase:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.policy = policy_from_settings(crawler.settings)

    def _refuse(self, refused: FetchRefused) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("rightswatch/hosts_refused")
        raise HostRefused(refused.url, refused.reason)


class FetchGuardMiddleware(_GuardBase):
    """Every request, redirects included, passes :mod:`evidence.guard` before it is sent.

    Scheme, host, port, then the addresses the host resolves to (cached per host for the
    run); a refusal is a :class:`HostRefused` naming the URL and the setting to change.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._resolved: dict[tuple[str, int], tuple[str, ...]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: scrapy.Spider) -> None:
        settings = self.crawler.settings
        spider.logger.info(
            "politeness for %s: API requests follow %s, pages %s robots.txt; hosts %s; "
            "%s requests per host, delay %.2fs, AutoThrottle %s; User-Agent %r",
            spider.name,
            settings.get("RW_API_ACCESS"),
            settings.get("RW_PAGE_ROBOTS"),
            self.policy.describe(),
            self.crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            self.crawler.settings.getfloat("DOWNLOAD_DELAY"),
            "on" if self.crawler.settings.getbool("AUTOTHROTTLE_ENABLED") else "off",
            settings.get("USER_AGENT"),
        )

    async def _resolve(self, host: str, port: int) -> tuple[str, ...]:
        key = (host, port)
        cached = self._resolved.get(key)
        if cached is None:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            cached = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
            if len(self._resolved) < 4096:
                self._resolved[key] = cached
        return cached

    async def process_request(self, request: Request) -> None:
        try:
            host, port = self.policy.check_url(request.url)
            try:
                addresses = await self._resolve(host, port)
            except OSError as exc:
                raise FetchRefused(request.url, f"cannot resolve {host}: {exc}") from exc
            for address in addresses:
                self.policy.check_address(request.url, host, address)
        except FetchRefused as refused:
            self._refuse(refused)


class FetchGuardResponseMiddleware(_GuardBase):
    """The address a response actually came from, checked before the WARC writer sees it.

    Registered above the WARC recorder (process_response runs from the highest number down),
    so a body from a host that re-resolved to a private address is never archived.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        ip = response.ip_address
        if ip is not None:
            host = (urlsplit(response.url).hostname or "").lower()
            try:
                self.policy.check_address(response.url, host, str(ip))
            except FetchRefused as refused:
                self._refuse(refused)
        return response


def retry_after_seconds(response: Response, now: datetime | None = None) -> float | None:
    """Seconds to wait per ``Retry-After`` or HF ``RateLimit`` (r=0;t=N), if either says."""
    value = response.headers.get(b"Retry-After")
    if value:
        text = value.decode("latin-1").strip()
        if text.isdigit():
            return float(text)
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
    limit = response.headers.get(b"RateLimit")
    if limit:
        text = limit.decode("latin-1")
        remaining = _RATELIMIT_R.search(text)
        reset = _RATELIMIT_T.search(text)
        if reset and (remaining is None or remaining.group(1) == "0"):
            return float(reset.group(1))
    return None


class PoliteRetryMiddleware:
    """Retries with back-off; a 429 pauses the whole host (:class:`HostGate`), and every
    request waits at the gate in :meth:`process_request`."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.gate = host_gate(crawler)
        self.platform = str(settings.get("RW_PLATFORM_NAME") or "")
        self.max_times = settings.getint("RW_RETRY_TIMES")
        self.codes = {int(c) for c in settings.getlist("RW_RETRY_HTTP_CODES")}
        self.base = settings.getfloat("RW_RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("RW_RETRY_BACKOFF_MAX")
        self.after_cap = settings.getfloat("RW_RETRY_AFTER_MAX")
        self.exceptions: tuple[type[BaseException], ...] = tuple(
            e if isinstance(e, type) else load_object(e)
            for e in settings.getlist("RETRY_EXCEPTIONS")
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_closed(self, spider: scrapy.Spider) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("rightswatch/host_waits", self.gate.report())

    async def process_request(self, request: Request) -> None:
        waited = await self.gate.wait(host_of(request.url))
        if waited > 0:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("rightswatch/host_wait_s", round(waited))

    def _backoff(self, attempt: int) -> float:
        delay = min(self.base * (2**attempt), self.cap)
        return float(delay * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not security

    async def _retry(self, request: Request, reason: str, wait: float | None) -> Request | None:
        spider = self.crawler.spider
        assert spider is not None
        attempt = int(request.meta.get("retry_times", 0))
        if wait is not None and wait > self.after_cap:
            spider.logger.warning(
                "giving up on %s: %s asks to wait %.0fs (cap %.0fs)",
                request.url,
                reason,
                wait,
                self.after_cap,
            )
            request.meta["rw_give_up_reason"] = (
                f"{reason}; the host asks to wait {wait:.0f}s, over the {self.after_cap:.0f}s "
                f"ceiling (max_pause_seconds in [platforms.politeness] of platform "
                f"{self.platform!r})"
            )
            return None
        retry = get_retry_request(
            request, spider=spider, reason=reason, max_retry_times=self.max_times
        )
        if retry is None:
            request.meta["rw_give_up_reason"] = f"{reason} after {attempt + 1} attempts"
            return None
        if wait is not None:  # the whole host waits at the gate, this request with it
            self.gate.pause(host_of(request.url), wait, reason, request.url)
            return retry
        delay = self._backoff(attempt)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("rightswatch/retry_wait_s", int(delay))
        if delay > 0:
            await asyncio.sleep(delay)
        return retry

    async def process_response(self, request: Request, response: Response) -> Any:
        self.gate.observe(response)
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        wait = retry_after_seconds(response) if response.status in (429, 503) else None
        retry = await self._retry(request, f"HTTP {response.status}", wait)
        return retry if retry is not None else response

    async def process_exception(self, request: Request, exception: Exception) -> Any:
        if not isinstance(exception, self.exceptions) or request.meta.get("dont_retry"):
            return None
        return await self._retry(request, type(exception).__name__, None)

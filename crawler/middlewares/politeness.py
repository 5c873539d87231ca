"""Politeness and robustness: a host allowlist per platform, and retries that back off.

:class:`HostAllowlistMiddleware` (priority 40) refuses any request to a host outside the
platform's allowlist, and any private, loopback or link-local address unless the platform's own
base URL is one (the local sandbox); the check is repeated on the address a response actually
came from, against DNS tricks. :class:`PoliteRetryMiddleware` (540, replacing Scrapy's
RetryMiddleware) retries 429/5xx and transport errors with exponential back-off, and honours
``Retry-After`` (seconds or HTTP date) and Hugging Face's ``RateLimit: ...;t=<s>`` header on 429
and 503 (platforms.md §1.9, §2.4). A ``Retry-After`` beyond the cap gives up at once rather
than hold the crawl. Per-platform concurrency, delay, AutoThrottle, size and time limits are
Scrapy settings (crawler/settings.py); the robots.txt decision is logged at start.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
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
from scrapy.utils.misc import load_object

_RATELIMIT_T = re.compile(r";\s*t\s*=\s*(\d+)")
_RATELIMIT_R = re.compile(r";\s*r\s*=\s*(\d+)")


class HostRefused(IgnoreRequest):
    """A request to a host the platform's allowlist does not contain."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def is_private(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_unspecified


def _entry_matches(entry: str, host: str, port: int | None) -> bool:
    if entry.startswith("*."):
        return host.endswith(entry[1:])
    name, _, wanted = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
    if wanted:
        return host == name and str(port) == wanted
    return host == entry


def host_refusal(url: str, entries: frozenset[str], private_ok: bool) -> str | None:
    """Why ``url`` may not be fetched under the allowlist ``entries`` (None: it may).

    Entries are an exact ``host``, ``host:port`` or a suffix pattern ``*.example.com``.
    Private, loopback and link-local hosts pass only when ``private_ok`` (the base URL is
    local) or when they are an exact entry (a local CDN named on purpose)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r} is not fetched"
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "invalid port"
    matched = [e for e in entries if _entry_matches(e, host, port)]
    if entries and not matched:
        return f"host {host!r} is not on this platform's allowlist"
    if is_private(host) and not private_ok and not any(not e.startswith("*.") for e in matched):
        return f"private or loopback address {host!r} refused"
    return None


class HostAllowlistMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        base = str(settings.get("RW_BASE_URL") or "")
        self.base_host = (urlsplit(base).hostname or "").lower()
        self.allowed = {h.lower() for h in settings.getlist("RW_ALLOWED_HOSTS")}
        if self.base_host:
            self.allowed.add(self.base_host)
        self.private_ok = bool(self.base_host) and is_private(self.base_host)
        self.entries = frozenset(self.allowed)
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: scrapy.Spider) -> None:
        robots = self.crawler.settings.getbool("ROBOTSTXT_OBEY")
        spider.logger.info(
            "politeness for %s: robots.txt %s; hosts %s; private addresses %s; "
            "%s requests per host, delay %.2fs, AutoThrottle %s",
            spider.name,
            "obeyed" if robots else "ignored by configuration",
            sorted(self.allowed) or "any",
            "allowed (base URL is local)" if self.private_ok else "refused",
            self.crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            self.crawler.settings.getfloat("DOWNLOAD_DELAY"),
            "on" if self.crawler.settings.getbool("AUTOTHROTTLE_ENABLED") else "off",
        )

    def _refuse(self, url: str, reason: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("rightswatch/hosts_refused")
        raise HostRefused(url, reason)

    def process_request(self, request: Request) -> None:
        reason = host_refusal(request.url, self.entries, self.private_ok)
        if reason is not None:
            self._refuse(request.url, reason)

    def process_response(self, request: Request, response: Response) -> Response:
        ip = response.ip_address
        host = (urlsplit(response.url).hostname or "").lower()
        named = host in self.entries or any(e.startswith(f"{host}:") for e in self.entries)
        local_ok = self.private_ok or (is_private(host) and named)
        if ip is not None and not local_ok and is_private(str(ip)):
            self._refuse(response.url, f"{urlsplit(response.url).hostname} resolved to {ip}")
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
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
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
        return cls(crawler)

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
            request.meta["rw_give_up_reason"] = f"{reason}; Retry-After {wait:.0f}s over cap"
            return None
        retry = get_retry_request(
            request, spider=spider, reason=reason, max_retry_times=self.max_times
        )
        if retry is None:
            request.meta["rw_give_up_reason"] = f"{reason} after {attempt + 1} attempts"
            return None
        delay = wait if wait is not None else self._backoff(attempt)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("rightswatch/retry_wait_s", int(delay))
        if delay > 0:
            await asyncio.sleep(delay)
        return retry

    async def process_response(self, request: Request, response: Response) -> Any:
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        wait = retry_after_seconds(response) if response.status in (429, 503) else None
        retry = await self._retry(request, f"HTTP {response.status}", wait)
        return retry if retry is not None else response

    async def process_exception(self, request: Request, exception: Exception) -> Any:
        if not isinstance(exception, self.exceptions) or request.meta.get("dont_retry"):
            return None
        return await self._retry(request, type(exception).__name__, None)

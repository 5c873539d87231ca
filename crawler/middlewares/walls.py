"""Bot-challenge and login-wall detection: such pages are never content.

A response classified as a wall raises :class:`WallDetected` (an ``IgnoreRequest``), so it is
not retried and never reaches a parser; the spider's errback turns it into a
``CrawlFailure(status=BLOCKED)`` carrying the reason and the WARC record id (the wall itself is
archived: it shows what the platform served). Markers: Cloudflare's ``cf-mitigated: challenge``
header and "Just a moment" interstitial (platforms.md §4.4, §5), generic CAPTCHA widgets, and
login walls (401 HTML, or a redirect/landing on a login path).
"""

from __future__ import annotations

import re
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

_CHALLENGE_MARKERS = (
    re.compile(rb"<title>\s*just a moment", re.I),
    re.compile(rb"cf-chl-|challenge-platform|cf_chl_opt", re.I),
    re.compile(rb"<title>\s*attention required", re.I),
    re.compile(rb"g-recaptcha|h-captcha|hcaptcha\.com|turnstile", re.I),
    re.compile(rb"checking (if the site connection is secure|your browser)", re.I),
    re.compile(rb"verify (that )?you are (a )?human", re.I),
)
_LOGIN_PATH = re.compile(r"/(login|signin|sign-in|auth/login)(\b|/|\?|$)", re.I)
_LOGIN_MARKERS = (
    re.compile(rb"<title>[^<]*(log ?in|sign ?in)[^<]*</title>", re.I),
    re.compile(rb"(log ?in|sign ?in) (required|to continue)", re.I),
)
_SNIFF_BYTES = 64 * 1024


class WallDetected(IgnoreRequest):
    """A bot challenge or login wall stood where content was expected."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def classify(response: Response) -> str | None:
    """The reason ``response`` is a wall, or None when it looks like content."""
    mitigated = response.headers.get(b"cf-mitigated")
    if mitigated and mitigated.lower() == b"challenge":
        return "bot challenge (cf-mitigated: challenge)"
    content_type = (response.headers.get(b"Content-Type") or b"").lower()
    is_html = b"html" in content_type or response.body[:200].lstrip().lower().startswith(
        (b"<!doctype html", b"<html")
    )
    if is_html and response.status < 400 and _LOGIN_PATH.search(urlsplit(response.url).path):
        return f"login wall (landed on {response.url})"
    if not is_html:
        return None
    head = response.body[:_SNIFF_BYTES]
    if response.status in (403, 429, 503) or len(head) < _SNIFF_BYTES:
        for marker in _CHALLENGE_MARKERS:
            if marker.search(head):
                pattern = marker.pattern.decode()
                return f"bot challenge (HTTP {response.status}, matched {pattern!r})"
    if response.status == 401:
        return "login wall (HTTP 401)"
    for marker in _LOGIN_MARKERS:
        if marker.search(head) and b"<form" in head.lower():
            return "login wall (login form instead of content)"
    return None


class WallDetectionMiddleware:
    """Downloader middleware (955): raise :class:`WallDetected` for challenge/login pages."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("rw_no_wall_check"):
            return response
        reason = classify(response)
        if reason is None:
            return response
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("rightswatch/walls")
        raise WallDetected(response.url, reason)

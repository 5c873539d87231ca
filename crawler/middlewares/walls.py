"""Bot-challenge and login-wall detection: such pages are never content.

A response classified as a wall raises :class:`WallDetected` (an ``IgnoreRequest``), so it is
not retried and never reaches a parser; the spider's errback turns it into a
``CrawlFailure(status=BLOCKED)`` carrying the reason and the WARC record id (the wall itself is
archived: it shows what the platform served). Markers: Cloudflare's ``cf-mitigated: challenge``
header and "Just a moment" interstitial (platforms.md §4.4, §5), generic CAPTCHA widgets, and
login walls (401 HTML, or a redirect/landing on a login path). The rules are the evidence
capture's, in one place: :func:`evidence.capture.walls.find_wall`.
"""

from __future__ import annotations

import re
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from evidence.capture.walls import PageState, find_wall

_PASSWORD = re.compile(rb"<input[^>]+type=[\"']?password", re.I)


class WallDetected(IgnoreRequest):
    """A bot challenge or login wall stood where content was expected."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def classify(response: Response) -> str | None:
    """The reason ``response`` is a wall, or None when it looks like content.

    Only HTML is judged (an API's JSON 401 is an error, not a wall); the rules are the
    evidence capture's (:func:`evidence.capture.walls.find_wall`)."""
    headers = {
        name: (response.headers.get(name.encode()) or b"").decode("latin-1")
        for name in ("cf-mitigated", "content-type")
        if response.headers.get(name.encode())
    }
    content_type = headers.get("content-type", "").lower()
    body = response.body
    is_html = "html" in content_type or body[:200].lstrip().lower().startswith(
        (b"<!doctype html", b"<html")
    )
    if not is_html and "cf-mitigated" not in headers:
        return None
    html = body[:65536].decode("utf-8", errors="replace")
    try:
        asked = response.request.url if response.request is not None else ""
    except AttributeError:  # a response built without its request (tests)
        asked = ""
    state = PageState(
        requested_url=asked,
        final_url=response.url,
        status=response.status,
        html=html,
        text=html,
        password_fields=len(_PASSWORD.findall(body[:65536])),
        headers=headers,
    )
    wall = find_wall(state)
    return None if wall is None else wall.detail


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

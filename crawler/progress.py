"""Live progress from the crawl child: JSON lines on stdout, read by the parent
(:class:`crawler.crawl.Progress`).

Each line is ``{"platform", "pages", "items", "errors", "done"}``; lines are throttled to a few
per second per platform, and a final ``done: true`` line is written when the spider closes.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Self

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler

from crawler.items import CrawlFailure

INTERVAL_S = 0.25


class ProgressExtension:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pages = self.items = self.errors = 0
        self.last = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.error, signal=signals.item_error)
        crawler.signals.connect(ext.error, signal=signals.spider_error)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def response_received(self, **_: Any) -> None:
        self.pages += 1
        self.emit()

    def item_scraped(self, item: Any, **_: Any) -> None:
        if isinstance(item, CrawlFailure):
            self.errors += 1
        else:
            self.items += 1
        self.emit()

    def error(self, **_: Any) -> None:
        self.errors += 1
        self.emit()

    def spider_closed(self, spider: scrapy.Spider) -> None:
        self.emit(done=True)

    def emit(self, done: bool = False) -> None:
        now = time.monotonic()
        if not done and now - self.last < INTERVAL_S:
            return
        self.last = now
        spider = self.crawler.spider
        line = {
            "platform": spider.name if spider is not None else "?",
            "pages": self.pages,
            "items": self.items,
            "errors": self.errors,
            "done": done,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

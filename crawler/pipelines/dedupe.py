"""Dedupe: one candidate per (platform, kind, external id) per run; unchanged ones marked.

The spiders already claim each id once; this stage is the guard behind them (an item reached
through two listings in flight at once). An item whose content fingerprint equals the stored
one is marked ``unchanged``: media, match and record then only move its last-seen time.
Identical media bytes under different ids are handled by content SHA-256 in the match stage,
which judges each digest once per run.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import CrawlFailure, ImageCandidate, ModelCandidate
from crawler.state import SeenIndex


class DedupePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.keys: set[tuple[str, str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, CrawlFailure):
            return item
        if not isinstance(item, ImageCandidate | ModelCandidate):
            raise DropItem(f"not a candidate: {type(item).__name__}")
        key = (item.platform, item.kind.value, item.external_id)
        stats = self.crawler.stats
        assert stats is not None
        if key in self.keys:
            stats.inc_value("rightswatch/duplicates")
            raise DropItem(f"{item.platform} {item.kind.value} {item.external_id} already seen")
        self.keys.add(key)
        seen: SeenIndex | None = getattr(self.crawler.spider, "seen", None)
        if seen is not None and seen.unchanged(item):
            stats.inc_value("rightswatch/unchanged")
            return dataclasses.replace(item, unchanged=True)
        return item

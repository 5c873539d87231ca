"""Find candidates on AI platforms: Scrapy spiders, pipelines and provenance.

Layout: ``spiders/`` (one per platform family), ``parsers/`` (pure functions from platform
JSON/HTML to typed items, unit-tested on saved fixtures), ``middlewares/`` (WARC provenance,
politeness, bot walls), ``pipelines/`` (dedupe -> media -> match -> record) and ``crawl.py``
(a crawl in a child process, returning a :class:`crawler.crawl.CrawlReport`).
"""

from __future__ import annotations

__version__ = "0.1.0"

"""Item pipelines, in order: dedupe (100) -> media (200) -> match (300) -> record (400).

Each stage takes a candidate and returns a copy carrying what it learnt; a
:class:`crawler.items.CrawlFailure` passes untouched to the record stage.
"""

from __future__ import annotations

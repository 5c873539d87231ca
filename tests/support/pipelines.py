"""Stand-ins for the Scrapy crawler a pipeline is built from, for pipeline tests without a
reactor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.plan import PlatformTarget
from evidence.store import Store


@dataclass
class FakeStats:
    values: dict[str, Any] = field(default_factory=dict)

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value


@dataclass
class FakeSpider:
    target: PlatformTarget
    store: Store
    name: str = "civitai"


@dataclass
class FakeCrawler:
    spider: FakeSpider
    stats: FakeStats
    settings: dict[str, Any]

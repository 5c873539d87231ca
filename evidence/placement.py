"""Where a platform showed an item: one typed value from the crawl's record to the report.

The crawler's record pipeline writes it with :meth:`ItemPlacement.to_json` under
``Candidate.raw["crawl"]["discovery"]``; finding.json, the report and notices read it back with
:meth:`ItemPlacement.from_raw`. One class owns both ends, so the key the writer uses is the key
the reader uses (a placement stored under one key and read under another is how a report lost
the fact the ruling weighed; STYLE.md §16).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evidence.wording import Sentence

CRAWL_KEY = "crawl"
DISCOVERY_KEY = "discovery"

WHERE = {
    "home": ("the platform's home page", "平台首页"),
    "recommended": ("a recommended section", "推荐栏目"),
    "feed": ("a feed of the newest or hottest items", "信息流"),
    "search": ("search results", "搜索结果"),
    "tag": ("a tag listing", "标签列表页"),
    "listing": ("a listing page", "列表页"),
    "model_page": ("a model page", "模型页面"),
}


@dataclass(frozen=True)
class ItemPlacement:
    """The listing an item was found on, where on it, its 1-based rank and the search term."""

    where: str
    rank: int | None = None
    listing_url: str | None = None
    term: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "placement": self.where,
            "rank": self.rank,
            "listing_url": self.listing_url,
            "term": self.term,
        }

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any] | None) -> ItemPlacement | None:
        """The placement recorded in a candidate's ``raw`` (None when the crawl gave none)."""
        crawl = (raw or {}).get(CRAWL_KEY)
        found = crawl.get(DISCOVERY_KEY) if isinstance(crawl, Mapping) else None
        return cls.from_json(found) if isinstance(found, Mapping) else None

    @classmethod
    def from_json(cls, found: Mapping[str, Any]) -> ItemPlacement | None:
        """The placement :meth:`to_json` wrote (None when it names no placement)."""
        if not found.get("placement"):
            return None
        rank = found.get("rank")
        return cls(
            where=str(found["placement"]),
            rank=int(rank)
            if isinstance(rank, int | float) and not isinstance(rank, bool)
            else None,
            listing_url=str(found["listing_url"]) if found.get("listing_url") else None,
            term=str(found["term"]) if found.get("term") else None,
        )

    def sentence(self) -> Sentence:
        """'Shown on the platform's home page at position 3 (of that page, as listed).'"""
        en, zh = WHERE.get(self.where, (self.where.replace("_", " "), self.where))
        rank_en = f" at position {self.rank}" if self.rank else ""
        rank_zh = f"第 {self.rank} 位" if self.rank else ""
        term_en = f" for the search term '{self.term}'" if self.term else ""
        term_zh = f"（搜索词「{self.term}」）" if self.term else ""
        where_en = f" ({self.listing_url})" if self.listing_url else ""
        return Sentence(
            f"The platform showed the item on {en}{term_en}{rank_en}{where_en}.",
            f"平台在{zh}{term_zh}展示了该条目{('，位列' + rank_zh) if rank_zh else ''}"
            f"{('（' + self.listing_url + '）') if self.listing_url else ''}。",
        )

"""What one listing showed, in order, and whether its data said the feed has ended.

:class:`Harvest` collects, while a listing page is scrolled: item records from the JSON bodies
the page fetched and from embedded state, and card links from the DOM (kept as they are seen,
so a virtualised list that drops cards loses nothing). The end of the feed is decided from
data only: a paging JSON document that says no next page (``more`` false, ``next`` empty), a
paging document with no items, state that says so, or the adapter's end marker in the DOM.
Ranks are 1-based per placement, in order of first appearance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.gallery.adapter import DataSource, GalleryAdapter
from crawler.gallery.extract import Record, more_pages, records_in
from crawler.items import Placement
from evidence.models import CandidateKind

Key = tuple[CandidateKind, str]


@dataclass(frozen=True)
class Shown:
    """One item as the listing showed it."""

    kind: CandidateKind
    external_id: str
    placement: Placement
    rank: int
    url: str | None  # the item's page (card link or the adapter's item_urls)
    record: Record | None  # what the data said about it (None: only a card was seen)


class Harvest:
    """The running account of one listing page."""

    def __init__(
        self,
        adapter: GalleryAdapter,
        page_url: str,
        placement: Placement,
        rank_offsets: dict[str, int] | None = None,
        base_url: str = "",
    ) -> None:
        self.adapter = adapter
        self.page_url = page_url
        self.base_url = base_url.rstrip("/")  # item_urls are relative to it
        self.placement = placement
        self.rank_offsets = dict(rank_offsets or {})
        self.records: dict[Key, Record] = {}
        self.urls: dict[Key, str] = {}
        self.order: dict[Key, Placement] = {}  # insertion order = first appearance
        self.ended: str | None = None  # why the feed is known to have ended
        self.data_events = 0  # documents that matched a listing source (progress signal)
        self.pages = 0  # paging documents seen

    # --- inputs -----------------------------------------------------------------------
    def _place(self, key: Key, placement: Placement | None) -> None:
        where = placement or self.placement
        current = self.order.get(key)
        if current is None:
            self.order[key] = where
        elif current is self.placement and where is not self.placement:
            self.order[key] = where  # a section or source is more specific than the page

    def _add(self, record: Record) -> None:
        key = (record.kind, record.external_id)
        old = self.records.get(key)
        self.records[key] = record if old is None else old.merged(record)
        self._place(key, record.placement)

    def add_document(self, document: Any, sources: Sequence[DataSource], where: str) -> bool:
        """Records and the end signal from one JSON document; True if a source matched."""
        matched = False
        for source in sources:
            records = records_in(document, source, self.adapter, where)
            more = more_pages(document, source)
            if not records and more is None:
                continue
            matched = True
            for record in records:
                self._add(record)
            if source.pages:
                self.pages += 1
                if more is False:
                    self.ended = self.ended or f"{where} says there is no next page"
                elif not records:
                    self.ended = self.ended or f"{where} came back empty"
        if matched:
            self.data_events += 1
        return matched

    def add_json(self, url: str, document: Any) -> bool:
        sources = [s for s in self.adapter.json if re.search(s.name, url)]
        return bool(sources) and self.add_document(document, sources, f"JSON {url}")

    def add_state(self, source: DataSource, document: Any) -> bool:
        return self.add_document(document, [source], f"state {source.name}")

    def add_links(self, links: Sequence[tuple[str, str | None]]) -> int:
        """Card links as the DOM shows them (href, section placement); returns new cards."""
        new = 0
        base_host = urlsplit(self.page_url).netloc
        for href, section in links:
            url = urljoin(self.page_url, href)
            parts = urlsplit(url)
            if parts.netloc != base_host:
                continue
            found = self.adapter.link_id(parts.path)
            if found is None:
                continue
            new += found not in self.order
            self.urls.setdefault(found, url.split("#", 1)[0])
            self._place(found, Placement(section) if section else None)
        return new

    def end(self, reason: str) -> None:
        self.ended = self.ended or reason

    # --- outputs ----------------------------------------------------------------------
    def shown(self) -> Iterator[Shown]:
        """Every item in order of first appearance, with placement and rank."""
        counters: dict[Placement, int] = {}
        for key, placement in self.order.items():
            counters[placement] = counters.get(placement, 0) + 1
            rank = self.rank_offsets.get(placement.value, 0) + counters[placement]
            kind, external_id = key
            url = self.urls.get(key)
            template = self.adapter.item_url(kind, external_id)
            if url is None and template is not None:
                url = (
                    self.base_url + template
                    if template.startswith("/") and self.base_url
                    else urljoin(self.page_url, template)
                )
            yield Shown(kind, external_id, placement, rank, url, self.records.get(key))

    def next_offsets(self) -> dict[str, int]:
        """Rank offsets for the listing's next page (paged listings)."""
        out = dict(self.rank_offsets)
        for placement in self.order.values():
            out[placement.value] = out.get(placement.value, 0) + 1
        return out

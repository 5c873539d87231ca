"""Hugging Face: LoRA repositories by search term and the newest LoRAs, with their headers.

Requests (platforms.md §2.1-2.3): ``/api/models?search=<term>&filter=lora&sort=createdAt&
direction=-1&limit=100``, following the ``Link: <...>; rel="next"`` header to the end; then
``/api/models/{repo}?blobs=true`` for siblings (sizes, ``lfs.sha256``) and ``cardData``; then the
header of each ``.safetensors`` file through ``/{repo}/resolve/{sha}/{file}`` with HTTP Range.
Besides the searches, ``target.recent_pages`` pages of the newest LoRAs (no search term) are
read, because a repository named innocently may carry the alias only in its tags, trigger
words or training metadata, which search does not see.
The incremental stop rule is applied only when the page really is newest-first (its
``createdAt`` values never increase), so a server that ignores ``sort`` cannot end a listing
early. ``HF_TOKEN`` is sent when set (§2.4: higher rate limits).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Response

from crawler.exceptions import ParseError
from crawler.items import CandidateKind, Placement
from crawler.parsers.huggingface import (
    created_times,
    next_link,
    parse_model_info,
    parse_search_page,
)
from crawler.spiders.lora import LoraSpider
from crawler.state import StopRule

PAGE_SIZE = 100


class HuggingFaceSpider(LoraSpider):
    name = "huggingface"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.repos_requested: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for term in self.target.search_terms:
            yield self._listing({"search": term}, term, Placement.SEARCH)
        # Search sees names, not tags or training metadata: the newest LoRAs are also walked
        # (bounded), so a look-alike uploaded under an innocent name still gets its header read.
        if self.target.recent_pages > 0:
            yield self._listing({}, None, Placement.LISTING, rw_pages_left=self.target.recent_pages)

    def _listing(
        self, extra: dict[str, str], term: str | None, placement: Placement, **meta: Any
    ) -> scrapy.Request:
        params = {
            **extra,
            "filter": "lora",
            "sort": "createdAt",
            "direction": "-1",
            "limit": str(PAGE_SIZE),
        }
        return scrapy.Request(
            f"{self.target.base}/api/models?{urlencode(params)}",
            headers=self.headers(),
            callback=self.parse_search,
            errback=self.errback,
            meta={
                "rw_term": term,
                "rw_placement": placement,
                "rw_rank_offset": 0,
                "rw_stop": StopRule(self.stop_rule().run_length, not self.full),
                **meta,
            },
        )

    def parse_search(self, response: Response) -> Iterator[Any]:
        data, instead = self.json_or_retry(response)
        if instead is not None:
            yield instead
            return
        ctx = self.context(response)
        try:
            repos, skipped = parse_search_page(data, ctx)
        except ParseError as exc:
            yield self.failure(response.url, exc.reason)
            return
        for reason in skipped:
            yield self.failure(response.url, reason, kind=CandidateKind.MODEL)
        times = created_times(data)
        newest_first = len(times) == len(repos) and all(
            a >= b for a, b in itertools.pairwise(times)
        )
        stop: StopRule = response.meta["rw_stop"]
        offset = int(response.meta.get("rw_rank_offset", 0))
        for index, repo in enumerate(repos):
            if newest_first:
                stop.observe(self.seen.seen(CandidateKind.MODEL, repo))
            if repo in self.repos_requested or not self.budget_left:
                continue
            self.repos_requested.add(repo)
            yield scrapy.Request(
                f"{self.target.base}/api/models/{quote(repo)}?blobs=true",
                headers=self.headers(),
                callback=self.parse_info,
                errback=self.errback,
                meta={
                    "rw_term": response.meta.get("rw_term"),
                    "rw_placement": response.meta.get("rw_placement", Placement.SEARCH),
                    "rw_rank_offset": offset + index,
                    "rw_kind": CandidateKind.MODEL,
                    "rw_external_id": repo,
                    "rw_listing": response.url,
                },
            )
        next_url = next_link((response.headers.get(b"Link") or b"").decode("latin-1"))
        pages_left = response.meta.get("rw_pages_left")
        more_pages = pages_left is None or pages_left > 1
        if next_url and not stop.stop and self.budget_left and more_pages:
            meta = {**response.meta, "rw_rank_offset": offset + len(repos), "rw_json_tries": 0}
            if pages_left is not None:
                meta["rw_pages_left"] = pages_left - 1
            yield response.request.replace(url=next_url, meta=meta)  # type: ignore[union-attr]
        elif stop.stop:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("rightswatch/incremental_stops")

    def parse_info(self, response: Response) -> Iterator[Any]:
        data, instead = self.json_or_retry(response)
        if instead is not None:
            yield instead
            return
        try:
            item = parse_model_info(data, self.context(response))
        except ParseError as exc:
            yield self.failure(
                response.url,
                exc.reason,
                kind=CandidateKind.MODEL,
                external_id=response.meta.get("rw_external_id"),
            )
            return
        if not self.claim(CandidateKind.MODEL, item.external_id):
            return
        if self.seen.unchanged(item):
            yield item  # unchanged: only last-seen is updated, the weights are not re-read
            return
        yield from self.with_headers(item)

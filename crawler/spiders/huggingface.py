"""Hugging Face: image LoRAs however they are tagged, with their cards and headers.

``filter=lora`` matches a card tag that LLM PEFT adapters carry and many Stable Diffusion
LoRA re-uploads lack (real-platforms.md, Hugging Face 2), so the listings are
(platforms.md §2.1):

- ``/api/models?search=<term>`` per term (search sees repo ids and user names only);
- ``filter=text-to-image`` and ``filter=base_model:adapter:<base>`` for each of
  ``target.base_models``, newest first, ``target.recent_pages`` pages each (a look-alike named
  innocently carries the alias only in its card, trigger words or training metadata).

Every listing asks ``expand[]=siblings,cardData,sha,gated,...`` (real-platforms.md, Hugging
Face 3), so a repo needs no per-repo API call: its files, card data and commit come with the
list. Per repo then: the model card (``README.md``, small) for trigger words, and the header
of each ``.safetensors`` file through ``/{repo}/resolve/{sha}/{file}`` (302 to the CDN, one
Range read; spiders/lora.py). An LLM PEFT adapter costs nothing beyond the listing; a gated
repo (``gated`` set) is recorded as gated from the listing, its files are not asked for (they
answer 401/403 until its terms are accepted, Hugging Face 4). Pages are followed with the
``Link: <...>; rel="next"`` header. The incremental stop rule is applied only when the page
really is newest-first (``createdAt`` never increases). ``HF_TOKEN`` is sent when set (§2.4).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Response

from crawler.exceptions import ParseError
from crawler.items import CandidateKind, ModelCandidate, Placement, with_content
from crawler.parsers.huggingface import (
    EXPAND,
    card_triggers,
    created_times,
    is_llm_adapter,
    next_link,
    parse_model_info,
    parse_search_page,
    resolve_url,
)
from crawler.spiders.lora import LoraSpider
from crawler.state import StopRule

PAGE_SIZE = 100
CARD_MAX_BYTES = 256 * 1024


class HuggingFaceSpider(LoraSpider):
    name = "huggingface"
    default_access = "api"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.repos_requested: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for term in self.target.search_terms:
            yield self._listing([("search", term)], term, Placement.SEARCH)
        pages = self.target.recent_pages
        if pages > 0:
            yield self._listing([("filter", "text-to-image")], None, Placement.LISTING, pages)
            for base in self.target.base_models:
                query = [("filter", f"base_model:adapter:{base}")]
                yield self._listing(query, None, Placement.LISTING, pages)

    def _listing(
        self,
        extra: list[tuple[str, str]],
        term: str | None,
        placement: Placement,
        pages: int | None = None,
    ) -> scrapy.Request:
        params = [
            *extra,
            ("sort", "createdAt"),
            ("direction", "-1"),
            ("limit", str(PAGE_SIZE)),
            *(("expand[]", name) for name in EXPAND),
        ]
        meta: dict[str, Any] = {
            "rw_term": term,
            "rw_placement": placement,
            "rw_rank_offset": 0,
            "rw_stop": StopRule(self.stop_rule().run_length, not self.full),
        }
        if pages is not None:
            meta["rw_pages_left"] = pages
        return scrapy.Request(
            f"{self.target.base}/api/models?{urlencode(params)}",
            headers=self.headers(),
            callback=self.parse_search,
            errback=self.errback,
            meta=meta,
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
        entries = {e["id"]: e for e in data if isinstance(e, Mapping) and "id" in e}
        stop: StopRule = response.meta["rw_stop"]
        offset = int(response.meta.get("rw_rank_offset", 0))
        found: list[Any] = []
        for index, repo in enumerate(repos):
            if newest_first:
                stop.observe(self.seen.seen(CandidateKind.MODEL, repo))
            if repo in self.repos_requested or not self.budget_left:
                continue
            self.repos_requested.add(repo)
            found += self._repo(response, entries.get(repo, {}), repo, index)
        yield from self._next_page(response, stop, offset + len(repos))  # before the items
        yield from found

    def _next_page(self, response: Response, stop: StopRule, offset: int) -> Iterator[Any]:
        """The search's next page, unless the listing ends, the stop rule or the budget say so.

        Yielded before the page's items: Scrapy schedules a callback's requests as it reaches
        them, and items ahead of it would hold the page chain behind their pipelines."""
        next_url = next_link((response.headers.get(b"Link") or b"").decode("latin-1"))
        pages_left = response.meta.get("rw_pages_left")
        more_pages = pages_left is None or pages_left > 1
        if next_url and not stop.stop and self.budget_left and more_pages:
            meta = {**response.meta, "rw_rank_offset": offset, "rw_json_tries": 0}
            if pages_left is not None:
                meta["rw_pages_left"] = pages_left - 1
            yield response.request.replace(url=next_url, meta=meta)  # type: ignore[union-attr]
        elif stop.stop:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("rightswatch/incremental_stops")

    def _repo(
        self, response: Response, entry: Mapping[str, Any], repo: str, index: int
    ) -> Iterator[Any]:
        meta = {
            "rw_term": response.meta.get("rw_term"),
            "rw_placement": response.meta.get("rw_placement", Placement.SEARCH),
            "rw_rank_offset": int(response.meta.get("rw_rank_offset", 0)) + index,
            "rw_kind": CandidateKind.MODEL,
            "rw_external_id": repo,
            "rw_listing": response.url,
        }
        if "siblings" not in entry:  # a listing without expand[]: one per-repo call
            yield scrapy.Request(
                f"{self.target.base}/api/models/{quote(repo)}?blobs=true",
                headers=self.headers(),
                callback=self.parse_info,
                errback=self.errback,
                meta=meta,
            )
            return
        try:
            item = parse_model_info(entry, self.context(response), index)
        except ParseError as exc:
            yield self.failure(response.url, exc.reason, kind=CandidateKind.MODEL, external_id=repo)
            return
        yield from self._with_card(item, entry)

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
        yield from self._with_card(item, data if isinstance(data, Mapping) else {})

    def _with_card(self, item: ModelCandidate, entry: Mapping[str, Any]) -> Iterator[Any]:
        """The model card, then the headers; nothing more for adapters, gated or unchanged."""
        if not self.claim(CandidateKind.MODEL, item.external_id):
            return
        if self.seen.unchanged(item) or is_llm_adapter(entry) or entry.get("gated"):
            yield item  # recorded from the listing: unchanged, an LLM adapter, or gated
            return
        names = [s.get("rfilename") for s in entry.get("siblings") or [] if isinstance(s, Mapping)]
        if "README.md" not in names:
            yield from self.with_headers(item)
            return
        revision = item.version_ids[0] if item.version_ids else "main"
        yield scrapy.Request(
            resolve_url(self.target.base, item.external_id, revision, "README.md"),
            headers=self.headers(),
            callback=self.parse_card,
            errback=self.card_failed,
            dont_filter=True,
            meta={"rw_item": item, "download_maxsize": CARD_MAX_BYTES, "rw_no_wall_check": True},
        )

    def parse_card(self, response: Response) -> Iterator[Any]:
        item: ModelCandidate = response.meta["rw_item"]
        text = response.body[:CARD_MAX_BYTES].decode("utf-8", errors="replace")
        words, body = card_triggers(text)
        item = with_content(
            item,
            trigger_words=tuple(dict.fromkeys((*item.trigger_words, *words))),
            description=item.description or body or None,
        )
        yield from self.with_headers(item)

    def card_failed(self, failure: Any) -> Iterator[Any]:
        item: ModelCandidate = failure.request.meta["rw_item"]
        yield from self.with_headers(item)

"""Civitai: character models of every type, mature ones included with a token, and images.

Requests (platforms.md §1.2, §1.5; real-platforms.md, Civitai):

- ``/api/v1/models?types=LORA&types=LoCon&types=DoRA&types=TextualInversion&query=<term>
  &sort=Newest`` per term (``types`` repeatable; ``target.model_types``). The real search pops
  the (limit+1)-th hit as the cursor and then filters ``id < cursor``, so one hit per page and
  the last hit of a narrow search are never returned (real-platforms.md, Civitai 6): every
  term is cross-checked with a ``tag=<term>`` listing, and the newest models are walked for
  ``target.recent_model_pages`` pages (a look-alike named only in its file header is found
  there);
- ``...&tag=<tag>`` per configured tag;
- mature content is hidden unless asked for and needs a token (real-platforms.md, Civitai 3):
  with ``CIVITAI_TOKEN`` models are listed with ``nsfw=true`` and images with
  ``browsingLevel=<target.browsing_level>`` (default 31, every level); without one the run
  report says mature content was not visible;
- images: ``target.recent_pages`` pages of ``/api/v1/images?sort=Newest&withMeta=true``; for
  every model version found, ``target.version_image_pages`` pages by ``modelVersionId``; and
  for every creator of a model the likeness engine flagged or queued, ``creator_image_pages``
  pages by ``username`` (scheduled when the item has been judged).

Pages are followed with ``metadata.nextPage``/``nextCursor``, unless the incremental stop rule
ends a listing at the first run of already-seen items. With ``CIVITAI_TOKEN`` the safetensors
header of each model's primary file is read through the download endpoint (one call, then
Range reads on the signed URL; spiders/lora.py); without a token that endpoint answers 401,
so it is not asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.items import CandidateKind, ModelCandidate, Placement
from crawler.parsers.civitai import error_message, parse_images_page, parse_models_page
from crawler.spiders.lora import LoraSpider
from crawler.state import StopRule
from evidence.kinds import Decision

PAGE_SIZE = 100
FLAGGED = (Decision.FLAG, Decision.REVIEW)


class CivitaiSpider(LoraSpider):
    name = "civitai"
    default_access = "api"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.versions_requested: set[str] = set()
        self.creators_requested: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CivitaiSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.item_judged, signal=signals.item_scraped)
        return spider

    # --- requests -------------------------------------------------------------------------
    def api(self, path: str, params: list[tuple[str, str | int]]) -> str:
        return f"{self.target.base}/api/v1/{path}?{urlencode(params)}"

    def models_url(self, **params: str | int) -> str:
        query: list[tuple[str, str | int]] = [("types", t) for t in self.target.model_types]
        query += list(params.items())
        if self.token:
            query.append(("nsfw", "true"))
        return self.api("models", [*query, ("sort", "Newest"), ("limit", PAGE_SIZE)])

    def images_url(self, **params: str | int) -> str:
        query: list[tuple[str, str | int]] = list(params.items())
        query += [("withMeta", "true"), ("sort", "Newest"), ("limit", PAGE_SIZE)]
        if self.token:
            query.append(("browsingLevel", self.target.browsing_level))
        return self.api("images", query)

    def listing(
        self, url: str, callback: Any, placement: Placement, term: str | None, **meta: Any
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            headers=self.headers(),
            callback=callback,
            errback=self.errback,
            meta={
                "rw_term": term,
                "rw_placement": placement,
                "rw_rank_offset": 0,
                "rw_stop": StopRule(self.stop_rule().run_length, not self.full),
                **meta,
            },
        )

    async def start(self) -> AsyncIterator[Any]:
        if not self.token:
            self.note(
                "civitai: mature content (models and images above PG) was not visible: "
                "no CIVITAI_TOKEN; Civitai shows it only to signed-in callers who ask for it"
            )
        for term in self.target.search_terms:
            url = self.models_url(query=term)
            yield self.listing(url, self.parse_models, Placement.SEARCH, term)
            # the real search drops hits: cross-check with the tag listing of the same term
            yield self.listing(self.models_url(tag=term), self.parse_models, Placement.TAG, term)
        for tag in self.target.tags:
            yield self.listing(self.models_url(tag=tag), self.parse_models, Placement.TAG, tag)
        if self.target.recent_model_pages > 0:
            pages = self.target.recent_model_pages
            url = self.models_url()
            yield self.listing(url, self.parse_models, Placement.LISTING, None, rw_pages_left=pages)
        if self.target.recent_pages > 0:
            pages = self.target.recent_pages
            url = self.images_url()
            yield self.listing(url, self.parse_images, Placement.LISTING, None, rw_pages_left=pages)

    def item_judged(self, item: Any, response: Any, spider: scrapy.Spider) -> None:
        """A flagged or queued model: list its creator's images too (bounded)."""
        if spider is not self or not isinstance(item, ModelCandidate):
            return
        if not any(v.decision in FLAGGED for v in item.verdicts):
            return
        creator = item.creator
        pages = self.target.creator_image_pages
        if not creator or creator in self.creators_requested or pages <= 0:
            return
        self.creators_requested.add(creator)
        url = self.images_url(username=creator)
        request = self.listing(url, self.parse_images, Placement.LISTING, None)
        request.meta["rw_pages_left"] = pages
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(request)

    def _follow(self, response: Response, next_url: str | None, count: int) -> Iterator[Any]:
        stop: StopRule = response.meta["rw_stop"]
        pages_left = response.meta.get("rw_pages_left")
        if next_url is None or stop.stop or not self.budget_left:
            if stop.stop:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("rightswatch/incremental_stops")
            return
        if pages_left is not None and pages_left <= 1:
            return
        meta = {
            **{k: v for k, v in response.meta.items() if k.startswith("rw_")},
            "rw_rank_offset": int(response.meta.get("rw_rank_offset", 0)) + count,
            "rw_json_tries": 0,
        }
        if pages_left is not None:
            meta["rw_pages_left"] = pages_left - 1
        yield response.request.replace(url=next_url, meta=meta)  # type: ignore[union-attr]

    def _decode(self, response: Response) -> tuple[Any, list[Any]]:
        data, instead = self.json_or_retry(response)
        if instead is not None:
            return None, [instead]
        message = error_message(data)
        if message and not (isinstance(data, dict) and "items" in data):
            return None, [self.failure(response.url, f"platform error: {message}")]
        return data, []

    def parse_models(self, response: Response) -> Iterator[Any]:
        data, instead = self._decode(response)
        if data is None:
            yield from instead
            return
        page = parse_models_page(data, self.context(response))
        for reason in page.skipped:
            yield self.failure(response.url, reason, kind=CandidateKind.MODEL)
        stop: StopRule = response.meta["rw_stop"]
        found: list[Any] = []
        for model in page.items:
            unchanged = self.seen.unchanged(model)
            stop.observe(unchanged)
            if not self.claim(CandidateKind.MODEL, model.external_id):
                continue
            found += self._version_images(model, response)  # type: ignore[arg-type]
            if self.token and not unchanged:
                found += self.with_headers(model)  # type: ignore[arg-type]
            else:
                found.append(model)
        # the next page first: Scrapy schedules a callback's requests as it reaches them, and
        # the items before it would hold the cursor chain behind their pipelines
        yield from self._follow(response, page.next_url, len(page.items))
        yield from found

    def _version_images(self, model: ModelCandidate, response: Response) -> Iterator[Any]:
        pages = self.target.version_image_pages
        for version in model.version_ids:
            if version in self.versions_requested or not self.budget_left or pages <= 0:
                continue
            self.versions_requested.add(version)
            url = self.images_url(modelVersionId=version)
            term = response.meta.get("rw_term")
            yield self.listing(
                url, self.parse_images, Placement.MODEL_PAGE, term, rw_pages_left=pages
            )

    def parse_images(self, response: Response) -> Iterator[Any]:
        data, instead = self._decode(response)
        if data is None:
            yield from instead
            return
        page = parse_images_page(data, self.context(response))
        for reason in page.skipped:
            yield self.failure(response.url, reason, kind=CandidateKind.IMAGE)
        stop: StopRule = response.meta["rw_stop"]
        found: list[Any] = []
        for image in page.items:
            stop.observe(self.seen.seen(CandidateKind.IMAGE, image.external_id))
            if self.claim(CandidateKind.IMAGE, image.external_id):
                found.append(image)
        yield from self._follow(response, page.next_url, len(page.items))  # next page first
        yield from found

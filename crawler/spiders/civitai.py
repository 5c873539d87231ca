"""Civitai: LoRA models by search term and tag, their images, and recent images.

Requests (platforms.md §1.2, §1.5): ``/api/v1/models?types=LORA&query=<term>&sort=Newest``
(query needs cursor pagination, §1.2) and ``...&tag=<tag>``; for every model version found,
``/api/v1/images?modelVersionId=<id>&withMeta=true&sort=Newest``; plus ``target.recent_pages``
pages of ``/api/v1/images?sort=Newest&withMeta=true``. Pages are followed with
``metadata.nextPage``/``nextCursor`` to the end, unless the incremental stop rule ends a listing
at the first run of already-seen items. With ``CIVITAI_TOKEN`` set, the safetensors header of
each model's primary file is read through the download endpoint with HTTP Range (§1.7, §3.2);
without a token that endpoint answers 401, so it is not asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.items import CandidateKind, Placement
from crawler.parsers.civitai import error_message, parse_images_page, parse_models_page
from crawler.spiders.lora import LoraSpider
from crawler.state import StopRule

PAGE_SIZE = 100


class CivitaiSpider(LoraSpider):
    name = "civitai"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.versions_requested: set[str] = set()

    def api(self, path: str, **params: str | int) -> str:
        return f"{self.target.base}/api/v1/{path}?{urlencode(params)}"

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
        for term in self.target.search_terms:
            url = self.api("models", types="LORA", query=term, sort="Newest", limit=PAGE_SIZE)
            yield self.listing(url, self.parse_models, Placement.SEARCH, term)
        for tag in self.target.tags:
            url = self.api("models", types="LORA", tag=tag, sort="Newest", limit=PAGE_SIZE)
            yield self.listing(url, self.parse_models, Placement.TAG, tag)
        if self.target.recent_pages > 0:
            url = self.api("images", sort="Newest", withMeta="true", limit=PAGE_SIZE)
            yield self.listing(
                url,
                self.parse_images,
                Placement.LISTING,
                None,
                rw_pages_left=self.target.recent_pages,
            )

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
        for model in page.items:
            stop.observe(self.seen.unchanged(model))
            for version in model.version_ids:  # type: ignore[union-attr]
                if version not in self.versions_requested and self.budget_left:
                    self.versions_requested.add(version)
                    url = self.api(
                        "images",
                        modelVersionId=version,
                        withMeta="true",
                        sort="Newest",
                        limit=PAGE_SIZE,
                    )
                    yield self.listing(
                        url,
                        self.parse_images,
                        Placement.MODEL_PAGE,
                        response.meta.get("rw_term"),
                    )
            if not self.claim(CandidateKind.MODEL, model.external_id):
                continue
            if self.token and not self.seen.unchanged(model):
                yield from self.with_headers(model)  # type: ignore[arg-type]
            else:
                yield model
        yield from self._follow(response, page.next_url, len(page.items))

    def parse_images(self, response: Response) -> Iterator[Any]:
        data, instead = self._decode(response)
        if data is None:
            yield from instead
            return
        page = parse_images_page(data, self.context(response))
        for reason in page.skipped:
            yield self.failure(response.url, reason, kind=CandidateKind.IMAGE)
        stop: StopRule = response.meta["rw_stop"]
        for image in page.items:
            stop.observe(self.seen.seen(CandidateKind.IMAGE, image.external_id))
            if self.claim(CandidateKind.IMAGE, image.external_id):
                yield image
        yield from self._follow(response, page.next_url, len(page.items))

"""JavaScript galleries through scrapy-playwright on Debian's Chromium.

Listings: the home page (placement ``home``; cards inside a "recommended" section become
``recommended``) and the model feed ``<base>/models`` (``listing``); with
``GALLERY_SEARCH_PATH`` set on the spider class, also that page per search term (``search``:
the sandbox gallery, like many of these sites, offers no search page). Each listing is
rendered, then scrolled until no new cards appear twice in a row, at most
``target.scroll_limit`` times. Each card's detail page is rendered and parsed. The rendered DOM
after scrolling is archived in the WARC as a resource record, and so is every JSON body the
page's scripts fetched (``fetch``/``xhr``), so what the page showed can be traced.

Every path closes its page (callbacks in ``finally``, the errback too): an unclosed page
blocks the context (stack.md §4).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.items import FailureStatus, ModelCandidate, Placement
from crawler.middlewares.warc import META_RECORD_ID, WarcRecorderMiddleware
from crawler.parsers import ParseContext
from crawler.parsers.gallery import Card, parse_cards, parse_detail, removed_reason
from crawler.spiders.lora import LoraSpider

CARD_SELECTOR = "a[href*='/models/'], a[href*='/posts/'], a[href*='/images/']"
DETAIL_READY = "h1, [data-title], [data-state='removed']"
SETTLE_MS = 3000  # wait this long for new cards after a scroll (slow feeds answer late)
SETTLE_TRIES = 3  # scrolls in a row with nothing new that end a listing
RENDER_TIMEOUT_MS = 15_000


def abort_request(request: Any) -> bool:
    """Playwright request filter: skip fonts and video (never needed for the DOM)."""
    return str(getattr(request, "resource_type", "")) in ("font", "media")


class GallerySpider(LoraSpider):
    name = "gallery"
    LISTINGS: tuple[tuple[str, Placement], ...] = (
        ("", Placement.HOME),
        ("/models", Placement.LISTING),
    )
    GALLERY_SEARCH_PATH: str | None = None  # e.g. "/search?q=" on sites that have one

    def _page_request(self, url: str, callback: Any, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.close_page_errback,
            dont_filter=True,
            meta={
                "playwright": True,
                "playwright_include_page": True,
                "playwright_page_goto_kwargs": {"wait_until": "load"},
                **meta,
            },
        )

    async def start(self) -> AsyncIterator[Any]:
        for path, placement in self.LISTINGS:
            url = f"{self.target.base}{path or '/'}"
            yield self._page_request(url, self.parse_listing, rw_placement=placement)
        if self.GALLERY_SEARCH_PATH is not None:
            for term in self.target.search_terms:
                url = f"{self.target.base}{self.GALLERY_SEARCH_PATH}{quote(term)}"
                yield self._page_request(
                    url, self.parse_listing, rw_placement=Placement.SEARCH, rw_term=term
                )

    def _archive(self, url: str, html: str, captured: list[tuple[str, int, bytes]]) -> str | None:
        mw = self.crawler.get_downloader_middleware(WarcRecorderMiddleware)
        if mw is None or mw.warc is None:
            return None
        for xhr_url, status, body in captured:
            mw.warc.write_rendered(xhr_url, body, status, content_type="application/json")
        return mw.warc.write_rendered(url, html.encode("utf-8"), 200)

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        page = response.meta["playwright_page"]
        captured: list[tuple[str, int, bytes]] = []

        async def on_response(resp: Any) -> None:
            if resp.request.resource_type in ("fetch", "xhr"):
                try:
                    captured.append((resp.url, resp.status, await resp.body()))
                except Exception as exc:  # noqa: BLE001 - a body the browser dropped
                    self.logger.debug("no body for %s: %s", resp.url, exc)

        page.on("response", on_response)
        try:
            await page.wait_for_selector(CARD_SELECTOR, timeout=RENDER_TIMEOUT_MS, state="attached")
            count, still = await page.locator(CARD_SELECTOR).count(), 0
            for _ in range(self.target.scroll_limit):
                await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                try:
                    await page.wait_for_function(
                        f"document.querySelectorAll({CARD_SELECTOR!r}).length > {count}",
                        timeout=SETTLE_MS,
                    )
                except Exception:  # noqa: BLE001 - playwright's TimeoutError: nothing new
                    still += 1
                    if still >= SETTLE_TRIES:
                        break
                    continue
                count, still = await page.locator(CARD_SELECTOR).count(), 0
            html = await page.content()
        except Exception as exc:  # noqa: BLE001 - any browser failure is recorded
            yield self.failure(response.url, f"listing did not render: {type(exc).__name__}: {exc}")
            return
        finally:
            await page.close()
        record_id = self._archive(response.url, html, captured)
        placement: Placement = response.meta["rw_placement"]
        for card in parse_cards(html, response.url, placement):
            if (card.kind.value, card.external_id) in self.emitted_keys or not self.budget_left:
                continue
            yield self._page_request(
                card.url,
                self.parse_detail,
                rw_card=card,
                rw_term=response.meta.get("rw_term"),
                rw_listing=response.url,
                rw_listing_record=record_id,
                rw_kind=card.kind,
                rw_external_id=card.external_id,
            )

    async def parse_detail(self, response: Response) -> AsyncIterator[Any]:
        page = response.meta["playwright_page"]
        card: Card = response.meta["rw_card"]
        try:
            await page.wait_for_selector(DETAIL_READY, timeout=RENDER_TIMEOUT_MS)
            html = await page.content()
        except Exception as exc:  # noqa: BLE001 - recorded with its reason
            yield self.failure(
                response.url,
                f"detail page did not render: {type(exc).__name__}: {exc}",
                kind=card.kind,
                external_id=card.external_id,
            )
            return
        finally:
            await page.close()
        record_id = self._archive(response.url, html, []) or response.meta.get(META_RECORD_ID)
        ctx = ParseContext(
            platform=self.target.name,
            base_url=self.target.base,
            url=str(response.meta.get("rw_listing") or response.url),
            fetched_at=datetime.now(UTC),
            warc_record_id=record_id,
            term=response.meta.get("rw_term"),
            placement=card.placement,
        )
        removed = removed_reason(html)
        if removed is not None:
            yield self.failure(
                response.url,
                f"the platform shows the item as removed: {removed}",
                status=FailureStatus.FAILED,
                kind=card.kind,
                external_id=card.external_id,
                record_id=record_id,
            )
            return
        if not self.claim(card.kind, card.external_id):
            return
        item = parse_detail(html, card, ctx)
        if isinstance(item, ModelCandidate) and not self.seen.unchanged(item):
            for out in self.with_headers(item):
                yield out
        else:
            yield item

    async def close_page_errback(self, failure: Failure) -> AsyncIterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        page = request.meta.get("playwright_page")
        if page is not None:
            await page.close()
        for item in self.errback(failure):
            yield item

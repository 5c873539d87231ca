"""JavaScript galleries through scrapy-playwright on Debian's Chromium, driven by an adapter.

The spider knows no site: the platform's :class:`crawler.gallery.adapter.GalleryAdapter` says
which listings to open (each with its placement), the search URL template (every search term
and alias), how item links look, which element scrolls, where fields come from (JSON the page
fetched, embedded state, CSS selectors on item pages) and what marks the end of a feed.

A listing is scrolled one screen at a time; after each step the DOM's item links are read (a
virtualised list that drops cards loses nothing) and every JSON body the page fetched is parsed
as it arrives. The listing ends when its data says so (:mod:`crawler.gallery.feed`); at the
bottom of the page the spider waits, bounded by ``signal_timeout_seconds``, for the next
signal (a new data page, new cards, the end marker). A feed that stops answering is a recorded
failure with its reason, never a silent end. Walls (a challenge page, a login dialog over the
content) are recorded as walls, never as content.

Items whose data came with the listing become candidates at once; items seen only as cards
(or every item, with ``detail = "always"``) have their page rendered and read the same way.
The rendered DOM and every JSON body are archived in the WARC as ``resource`` records. Every
path closes its page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.browser import BrowserGate
from crawler.exceptions import CrawlConfigError
from crawler.gallery.adapter import GalleryAdapter
from crawler.gallery.extract import (
    Record,
    build_item,
    parse_json_body,
    record_from_selectors,
    removed,
)
from crawler.gallery.feed import Harvest, Shown
from crawler.items import Discovery, FailureStatus, ModelCandidate, Placement
from crawler.middlewares.politeness import retry_after_seconds
from crawler.middlewares.ratelimit import host_gate
from crawler.middlewares.warc import META_RECORD_ID, WarcRecorderMiddleware
from crawler.spiders.lora import LoraSpider
from evidence.capture.walls import WALL_PROBE_JS, PageState, find_wall

POLL_S = 0.2  # at most this long between looks at the DOM while no data arrives
# A wait is extended while the page's own requests are in flight, up to this many times
# signal_timeout_seconds: the page asked for data, so its answer is the signal awaited.
HARD_LIMIT_FACTOR = 4
SETTLE_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
LINKS_JS = """(sections) => Array.from(document.querySelectorAll('a[href]'), a => {
  let where = null;
  for (const [placement, css] of sections) { if (a.closest(css)) { where = placement; break; } }
  return [a.getAttribute('href'), where];
})"""
SCROLL_JS = """(css) => {
  const el = css ? document.querySelector(css) : (document.scrollingElement || document.body);
  if (!el) return null;
  const before = el.scrollTop;
  el.scrollTop = before + Math.max(el.clientHeight * 0.8, 200);
  return {moved: el.scrollTop > before,
          bottom: el.scrollTop + el.clientHeight >= el.scrollHeight - 4,
          height: el.scrollHeight};
}"""
HEIGHT_JS = """(css) => {
  const el = css ? document.querySelector(css) : (document.scrollingElement || document.body);
  return el ? el.scrollHeight : 0;
}"""
STATE_JS = """(name) => {
  const node = document.getElementById(name);
  if (node && node.textContent) return node.textContent;
  try { return window[name] === undefined ? null : JSON.stringify(window[name]); }
  catch (e) { return null; }
}"""


class _Page:
    """What one rendered page received: JSON bodies (archived and parsed), refusals."""

    def __init__(self, spider: GallerySpider, harvest: Harvest | None) -> None:
        self.spider = spider
        self.harvest = harvest
        self.captured: list[tuple[str, int, bytes]] = []
        self.documents: list[tuple[str, Any]] = []
        self.pending: set[asyncio.Task[None]] = set()
        self.refused: list[str] = []
        self.inflight: set[Any] = set()  # XHR/fetch requests sent and not yet answered
        self.failed: list[str] = []  # XHR/fetch requests that failed, with the reason
        self._activity = asyncio.Event()  # set when a data request ends or its body is read

    def handlers(self) -> dict[str, Callable[..., Any]]:
        return {
            "response": self.on_response,
            "request": self.on_request,
            "requestfinished": self.on_finished,
            "requestfailed": self.on_failed,
        }

    @property
    def busy(self) -> bool:
        """True while the page waits for data it asked for (a signal, not a guess)."""
        return bool(self.inflight or self.pending)

    def on_request(self, request: Any) -> None:
        gate = self.spider.gate
        reason = gate.refusal(str(request.url)) if gate is not None else None
        if reason is None:
            if request.resource_type in ("fetch", "xhr"):
                self.inflight.add(request)
            return
        # The route aborts refused requests; it never sees the hops of a redirect. A page
        # whose document went to a refused host is discarded; other escaped hops are logged
        # and whatever they brought is not read (_body).
        if request.is_navigation_request():
            self.refused.append(f"{request.url}: {reason}")
        elif request.redirected_from is not None:
            self.spider.logger.warning("redirected to a refused host: %s: %s", request.url, reason)

    def on_finished(self, request: Any) -> None:
        self.inflight.discard(request)
        self._activity.set()

    def on_failed(self, request: Any) -> None:
        self.inflight.discard(request)
        self._activity.set()
        if request.resource_type in ("fetch", "xhr"):
            self.failed.append(f"{request.url}: {request.failure or 'failed'}")

    def on_response(self, response: Any) -> None:
        if response.status in (429, 503) and self.spider.gate is not None:
            wait = retry_after_seconds(_HeaderView(response.headers))  # type: ignore[arg-type]
            if wait is not None:
                self.spider.gate.pause(response.url, wait)
        if response.request.resource_type not in ("fetch", "xhr"):
            return
        task = asyncio.ensure_future(self._body(response))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _body(self, response: Any) -> None:
        gate = self.spider.gate
        if gate is not None and gate.refusal(str(response.url)) is not None:
            return  # came from a host the guard refuses (a redirect hop): never read
        try:
            body = await response.body()
        except Exception as exc:  # noqa: BLE001 - a body the browser dropped
            self.spider.logger.warning("no body for %s: %s", response.url, exc)
            return
        self.captured.append((response.url, response.status, body))
        document = parse_json_body(body)
        if document is None:
            return
        self.documents.append((response.url, document))
        if self.harvest is not None:
            self.harvest.add_json(response.url, document)
        self._activity.set()

    async def next_activity(self, timeout_s: float) -> None:
        """Return when the page's data next moves (a body read, a request ended), or after
        ``timeout_s`` at most: the DOM (cards, height, end marker) is looked at again then."""
        self._activity.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._activity.wait(), timeout_s)

    async def settle(self, timeout_s: float) -> None:
        """Wait (bounded) for the bodies already announced."""
        if self.pending:
            await asyncio.wait(list(self.pending), timeout=timeout_s)


class _HeaderView:
    """Playwright's header dict seen through the ``response.headers.get(b"...")`` interface."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = self
        self._h = {k.lower(): v for k, v in headers.items()}

    def get(self, name: bytes) -> bytes | None:
        value = self._h.get(name.decode("latin-1").lower())
        return value.encode("latin-1") if value is not None else None


class GallerySpider(LoraSpider):
    name = "gallery"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.target.gallery is None:
            raise CrawlConfigError(
                f"platform {self.target.name!r}: a gallery needs an adapter "
                "(profile = ... or [platforms.gallery])"
            )
        self.adapter: GalleryAdapter = self.target.gallery

    @property
    def gate(self) -> BrowserGate | None:
        gate = self.settings.get("PLAYWRIGHT_ABORT_REQUEST") if self.settings else None
        return gate if isinstance(gate, BrowserGate) else None

    # --- requests ---------------------------------------------------------------------------
    def _page_request(self, url: str, callback: Any, watcher: _Page, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.close_page_errback,
            dont_filter=True,
            meta={
                "playwright": True,
                "playwright_include_page": True,
                "playwright_page_goto_kwargs": {"wait_until": "load"},
                "playwright_page_event_handlers": watcher.handlers(),
                "rw_watcher": watcher,
                **meta,
            },
        )

    def listing_request(
        self,
        url: str,
        placement: Placement,
        term: str | None = None,
        offsets: dict[str, int] | None = None,
    ) -> scrapy.Request:
        url = url if "://" in url else self.target.base + "/" + url.lstrip("/")
        harvest = Harvest(self.adapter, url, placement, offsets, self.target.base)
        return self._page_request(
            url,
            self.parse_listing,
            _Page(self, harvest),
            rw_placement=placement,
            rw_term=term,
            rw_harvest=harvest,
        )

    async def start(self) -> AsyncIterator[Any]:
        if self.gate is not None:  # the browser waits at the crawler's one host gate too
            self.gate.host_gate = host_gate(self.crawler)
        for listing in self.adapter.listings:
            yield self.listing_request(listing.url, listing.placement)
        if self.adapter.search_url is not None:
            for term in self.target.search_terms:
                url = self.adapter.search_url.replace("{term}", quote(term, safe=""))
                yield self.listing_request(url, self.adapter.search_placement, term)

    # --- helpers ----------------------------------------------------------------------------
    def _archive(self, url: str, html: str, watcher: _Page) -> str | None:
        mw = self.crawler.get_downloader_middleware(WarcRecorderMiddleware)
        if mw is None or mw.warc is None:
            return None
        for xhr_url, status, body in watcher.captured:
            mw.warc.write_rendered(xhr_url, body, status, content_type="application/json")
        return mw.warc.write_rendered(url, html.encode("utf-8"), 200)

    async def _wall(self, page: Any, response: Response) -> str | None:
        seen = await page.evaluate(WALL_PROBE_JS)
        state = PageState(
            requested_url=response.request.url if response.request else response.url,
            final_url=page.url,
            status=response.status,
            html=await page.content(),
            text=str(seen["text"]),
            password_fields=int(seen["passwords"]),
            login_dialog=bool(seen["dialog"]),
        )
        wall = find_wall(state)
        return None if wall is None else wall.detail

    async def _read_state(self, page: Any, harvest: Harvest) -> None:
        for source in self.adapter.state:
            text = await page.evaluate(STATE_JS, source.name)
            document = parse_json_body(text.encode("utf-8")) if isinstance(text, str) else None
            if document is not None:
                harvest.add_state(source, document)

    async def _read_links(self, page: Any, harvest: Harvest) -> int:
        sections = [[p.value, css] for p, css in self.adapter.sections.items()]
        links = await page.evaluate(LINKS_JS, sections)
        return harvest.add_links([(str(h), w) for h, w in links if h])

    async def _end_marker(self, page: Any) -> bool:
        css = self.adapter.end_selector
        return bool(css) and await page.locator(css).count() > 0

    def _deadline(self, watcher: _Page, quiet_until: float, hard: float) -> bool:
        """True while waiting is still bounded: the quiet period, extended while the page's
        own requests are in flight (it asked for data), never past ``hard``."""
        now = asyncio.get_running_loop().time()
        return now < hard and (now < quiet_until or watcher.busy)

    def _limits(self) -> tuple[float, float]:
        now = asyncio.get_running_loop().time()
        quiet = self.adapter.signal_timeout_seconds
        return now + quiet, now + quiet * HARD_LIMIT_FACTOR

    async def _wait_signal(
        self, page: Any, harvest: Harvest, watcher: _Page, before: tuple[int, int, int]
    ) -> bool:
        """Wait (bounded) for new data, new cards, a taller page or the end marker since
        ``before`` (data events, cards, page height), taken before the scroll step: what
        arrived while the step ran counts."""
        events, cards, height = before
        quiet_until, hard = self._limits()
        while True:
            await self._read_links(page, harvest)
            if harvest.data_events > events or len(harvest.order) > cards or harvest.ended:
                return True
            if await self._end_marker(page):
                harvest.end(f"end marker {self.adapter.end_selector!r} shown")
                return True
            if await page.evaluate(HEIGHT_JS, self.adapter.scroll_container) > height:
                return True
            if not self._deadline(watcher, quiet_until, hard):
                break
            await watcher.next_activity(POLL_S)
        await watcher.settle(1.0)
        return harvest.data_events > events or harvest.ended is not None

    def _has_end_signal(self) -> bool:
        a = self.adapter
        return bool(a.end_selector or a.next_link) or any(s.pages for s in (*a.json, *a.state))

    async def _scroll(self, page: Any, harvest: Harvest, watcher: _Page) -> str | None:
        """Scroll until the data says the feed ended; the reason it could not, if any."""
        for _ in range(self.adapter.max_scrolls):
            await self._read_links(page, harvest)
            if harvest.ended:
                return None
            if await self._end_marker(page):
                harvest.end(f"end marker {self.adapter.end_selector!r} shown")
                return None
            height = await page.evaluate(HEIGHT_JS, self.adapter.scroll_container)
            before = (harvest.data_events, len(harvest.order), int(height or 0))
            step = await page.evaluate(SCROLL_JS, self.adapter.scroll_container)
            if step is None:
                return f"scroll container {self.adapter.scroll_container!r} not found"
            await page.evaluate(SETTLE_FRAMES_JS)
            if step["moved"] and not step["bottom"]:
                continue
            if self.adapter.next_link and await page.locator(self.adapter.next_link).count():
                return None  # a paged listing: the next page is its own request
            if await self._wait_signal(page, harvest, watcher, before):
                continue
            if not self._has_end_signal():
                harvest.end("nothing more after scrolling to the bottom (no end signal set)")
                return None
            failed = (
                f"; failed requests: {'; '.join(watcher.failed[-3:])}" if watcher.failed else ""
            )
            return (
                f"the feed stopped answering: no new data within "
                f"{self.adapter.signal_timeout_seconds:.0f} s after {len(harvest.order)} items "
                f"({harvest.pages} data pages){failed}"
            )
        self.logger.warning("%s: scroll limit %d reached", page.url, self.adapter.max_scrolls)
        return None

    async def _first_signal(self, page: Any, harvest: Harvest, watcher: _Page) -> bool:
        """Wait (bounded) until the listing shows items, data, or its end."""
        quiet_until, hard = self._limits()
        while True:
            await self._read_state(page, harvest)
            await self._read_links(page, harvest)
            if harvest.order or harvest.data_events or harvest.ended:
                return True
            if await self._end_marker(page):
                harvest.end(f"end marker {self.adapter.end_selector!r} shown")
                return True
            if not self._deadline(watcher, quiet_until, hard):
                await watcher.settle(1.0)
                return bool(harvest.order or harvest.data_events)
            await watcher.next_activity(POLL_S)

    # --- callbacks --------------------------------------------------------------------------
    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        page = response.meta["playwright_page"]
        harvest: Harvest = response.meta["rw_harvest"]
        watcher: _Page = response.meta["rw_watcher"]
        problem: str | None = None
        wall: str | None = None
        next_url: str | None = None
        html = ""
        try:
            wall = await self._wall(page, response)
            if wall is None:
                if not await self._first_signal(page, harvest, watcher):
                    problem = (
                        "the listing showed no items, data or end marker within "
                        f"{self.adapter.signal_timeout_seconds:.0f} s"
                    )
                else:
                    problem = await self._scroll(page, harvest, watcher)
                    await watcher.settle(self.adapter.signal_timeout_seconds)
                    await self._read_state(page, harvest)
                    await self._read_links(page, harvest)
                    wall = await self._wall(page, response)
                if self.adapter.next_link and wall is None and problem is None:
                    href = (
                        await page.locator(self.adapter.next_link).first.get_attribute(
                            "href", timeout=1000
                        )
                        if await page.locator(self.adapter.next_link).count()
                        else None
                    )
                    next_url = urljoin(page.url, href) if href else None
                    if next_url is None:
                        harvest.end("no next-page link")
            html = await page.content()
        except Exception as exc:  # noqa: BLE001 - any browser failure is recorded
            problem = f"listing did not render: {type(exc).__name__}: {exc}"
        finally:
            await page.close()
        record_id = self._archive(response.url, html, watcher) or response.meta.get(META_RECORD_ID)
        if watcher.refused:
            problem = f"the page went to a refused host: {watcher.refused[0]}"
        if wall is not None:
            yield self.failure(
                response.url, wall, status=FailureStatus.BLOCKED, record_id=record_id
            )
            return
        if problem is not None:
            yield self.failure(response.url, problem, record_id=record_id)
        elif harvest.ended:
            self.logger.info("%s: end of feed: %s", response.url, harvest.ended)
        for shown in harvest.shown():
            for out in self._emit(shown, response, record_id):
                yield out
        if next_url is not None and problem is None:
            yield self.listing_request(
                next_url, harvest.placement, response.meta.get("rw_term"), harvest.next_offsets()
            )

    def _discovery(self, shown: Shown, response: Response) -> Discovery:
        return Discovery(
            listing_url=response.url,
            term=response.meta.get("rw_term"),
            placement=shown.placement,
            rank=shown.rank,
        )

    def _emit(self, shown: Shown, response: Response, record_id: str | None) -> list[Any]:
        key = (shown.kind.value, shown.external_id)
        if key in self.emitted_keys or not self.budget_left:
            return []
        discovery = self._discovery(shown, response)
        if shown.record is not None and self.adapter.detail != "always":
            return self._item(shown.record, shown.url or response.url, discovery, record_id)
        if shown.url is None or self.adapter.detail == "never":
            return []
        watcher = _Page(self, None)
        return [
            self._page_request(
                shown.url,
                self.parse_detail,
                watcher,
                rw_shown=shown,
                rw_discovery=discovery,
                rw_kind=shown.kind,
                rw_external_id=shown.external_id,
            )
        ]

    def _item(
        self, record: Record, page_url: str, discovery: Discovery, record_id: str | None
    ) -> list[Any]:
        if removed(record):
            return [
                self.failure(
                    page_url,
                    "the platform's data marks the item as removed",
                    kind=record.kind,
                    external_id=record.external_id,
                    record_id=record_id,
                )
            ]
        if not self.claim(record.kind, record.external_id):
            return []
        item = build_item(
            record,
            platform=self.target.name,
            page_url=page_url,
            discovery=discovery,
            fetched_at=datetime.now(UTC),
            warc_record_id=record_id,
        )
        if isinstance(item, ModelCandidate) and not self.seen.unchanged(item):
            return list(self.with_headers(item))
        return [item]

    async def parse_detail(self, response: Response) -> AsyncIterator[Any]:
        page = response.meta["playwright_page"]
        shown: Shown = response.meta["rw_shown"]
        watcher: _Page = response.meta["rw_watcher"]
        harvest = Harvest(self.adapter, response.url, shown.placement, None, self.target.base)
        wall: str | None = None
        problem: str | None = None
        html = ""
        try:
            wall = await self._wall(page, response)
            if wall is None:
                await self._detail_ready(page, harvest, watcher, shown)
                wall = await self._wall(page, response)
            html = await page.content()
        except Exception as exc:  # noqa: BLE001 - recorded with its reason
            problem = f"item page did not render: {type(exc).__name__}: {exc}"
        finally:
            await page.close()
        record_id = self._archive(response.url, html, watcher) or response.meta.get(META_RECORD_ID)
        if watcher.refused:
            problem = f"the page went to a refused host: {watcher.refused[0]}"
        if wall is not None or problem is not None:
            yield self.failure(
                response.url,
                wall or problem or "",
                status=FailureStatus.BLOCKED if wall else FailureStatus.FAILED,
                kind=shown.kind,
                external_id=shown.external_id,
                record_id=record_id,
            )
            return
        for url, document in watcher.documents:
            harvest.add_json(url, document)
        record = harvest.records.get((shown.kind, shown.external_id))
        if self.adapter.selectors:
            css = record_from_selectors(
                html, shown.kind, shown.external_id, self.adapter, response.url
            )
            record = css if record is None else record.merged(css)
        if record is None:
            yield self.failure(
                response.url,
                "the item page showed none of the configured fields",
                kind=shown.kind,
                external_id=shown.external_id,
                record_id=record_id,
            )
            return
        discovery: Discovery = response.meta["rw_discovery"]
        for out in self._item(record, response.url, discovery, record_id):
            yield out

    async def _detail_ready(
        self, page: Any, harvest: Harvest, watcher: _Page, shown: Shown
    ) -> None:
        """Wait (bounded) until the item's data or the ready marker is there."""
        key = (shown.kind, shown.external_id)
        ready = self.adapter.ready_selector or self.adapter.selectors.get("title")
        quiet_until, hard = self._limits()
        while self._deadline(watcher, quiet_until, hard):
            await self._read_state(page, harvest)
            for url, document in watcher.documents:
                harvest.add_json(url, document)
            if key in harvest.records:
                return
            css = (ready or "").split("::", 1)[0]
            if css and await page.locator(css).count():
                return
            await watcher.next_activity(POLL_S)

    async def close_page_errback(self, failure: Failure) -> AsyncIterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        page = request.meta.get("playwright_page")
        if page is not None:
            await page.close()
        for item in self.errback(failure):
            yield item


def describe(adapter: GalleryAdapter) -> str:
    """One line for the log: what the adapter reads."""
    return json.dumps(
        {
            "listings": [x.url for x in adapter.listings],
            "search": adapter.search_url,
            "json": [s.name for s in adapter.json],
            "state": [s.name for s in adapter.state],
        }
    )

"""Spiders, one per platform family, sharing :class:`PlatformSpider`.

A spider is built with a :class:`crawler.plan.PlatformTarget` (base URL, search terms, tags),
the :class:`crawler.state.SeenIndex` of earlier runs, ``full`` and ``max_items``. Every request
it makes has an errback that turns a failure into a reasoned :class:`CrawlFailure` item, so a
failed page is recorded, never silently dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.engine_builder import EngineLoad
from crawler.items import CandidateKind, CrawlFailure, FailureStatus, Placement
from crawler.middlewares.politeness import HostRefused
from crawler.middlewares.robots import RobotsRefused
from crawler.middlewares.walls import WallDetected
from crawler.middlewares.warc import META_RECORD_ID
from crawler.parsers import ParseContext
from crawler.plan import TOKEN_ENV, PlatformTarget
from crawler.state import SeenIndex, StopRule
from evidence.store import Store

JSON_RETRIES = 2  # a 200 whose JSON does not parse (truncated body) is fetched again


class PlatformSpider(scrapy.Spider):
    """Shared plumbing: context, JSON decoding with retry, failures, item budget.

    ``default_access`` says whether the spider's requests are API calls ("api", governed by
    the platform's ``api_access``) or pages ("page", governed by robots.txt); a request may
    say otherwise in ``meta["rw_access"]`` (crawler/middlewares/robots.py).
    """

    default_access = "page"

    def __init__(
        self,
        target: PlatformTarget,
        seen: SeenIndex | None = None,
        full: bool = False,
        max_items: int | None = None,
        store: Store | None = None,
        likeness: EngineLoad | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=target.name, **kwargs)
        self.target = target
        self.seen = seen or SeenIndex(platform=target.name)
        self.full = full
        limits = [n for n in (max_items, target.max_items) if n is not None]
        self.max_items = min(limits) if limits else None
        self.store = store  # used by the record pipeline
        self.likeness = likeness  # used by the match pipeline
        self.emitted = 0
        self.emitted_keys: set[tuple[str, str]] = set()
        token_env = TOKEN_ENV.get(target.kind)
        self.token = os.environ.get(token_env, "") if token_env else ""

    # --- helpers ------------------------------------------------------------------------
    def note(self, text: str) -> None:
        """A line for the run report (each said once), e.g. what was not visible and why."""
        assert self.crawler.stats is not None
        notes = list(self.crawler.stats.get_value("rightswatch/notes", []))
        if text not in notes:
            self.crawler.stats.set_value("rightswatch/notes", [*notes, text])

    @property
    def budget_left(self) -> bool:
        return self.max_items is None or self.emitted < self.max_items

    def stop_rule(self) -> StopRule:
        run = int(self.settings.getint("RW_INCREMENTAL_STOP_RUN")) if self.settings else 10
        return StopRule(run, enabled=not self.full)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def context(self, response: Response, **kw: Any) -> ParseContext:
        return ParseContext(
            platform=self.target.name,
            base_url=self.target.base,
            url=response.url,
            fetched_at=datetime.now(UTC),
            warc_record_id=response.meta.get(META_RECORD_ID),
            term=response.meta.get("rw_term"),
            placement=response.meta.get("rw_placement", Placement.LISTING),
            rank_offset=int(response.meta.get("rw_rank_offset", 0)),
            **kw,
        )

    def claim(self, kind: CandidateKind, external_id: str) -> bool:
        """True the first time this run meets the item and the budget allows it."""
        key = (kind.value, external_id)
        if key in self.emitted_keys or not self.budget_left:
            return False
        self.emitted_keys.add(key)
        self.emitted += 1
        return True

    def json_or_retry(self, response: Response) -> tuple[Any, scrapy.Request | CrawlFailure | None]:
        """The decoded body, or what to do instead (a retry, then a recorded failure)."""
        try:
            return json.loads(response.body), None
        except (ValueError, UnicodeDecodeError) as exc:
            tries = int(response.meta.get("rw_json_tries", 0))
            if tries < JSON_RETRIES:
                meta = {**response.meta, "rw_json_tries": tries + 1}
                return None, response.request.replace(dont_filter=True, meta=meta)  # type: ignore[union-attr]
            return None, self.failure(
                response.url,
                f"invalid JSON after {tries + 1} attempts: {exc}",
                record_id=response.meta.get(META_RECORD_ID),
            )

    def failure(
        self,
        url: str,
        reason: str,
        *,
        status: FailureStatus = FailureStatus.FAILED,
        kind: CandidateKind | None = None,
        external_id: str | None = None,
        record_id: str | None = None,
    ) -> CrawlFailure:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"rightswatch/failures/{status.value}")
        return CrawlFailure(
            platform=self.target.name,
            url=url,
            status=status,
            reason=reason,
            kind=kind,
            external_id=external_id,
            warc_record_id=record_id,
        )

    def _unavailable_for_legal_reasons(self, response: Response) -> CloseSpider:
        """HTTP 451 (Civitai's API from a restricted region answers it to every request,
        research/real-platforms.md Civitai 7): nothing more can be fetched from this network
        location, so the platform stops at once, with the platform's own words and the fix."""
        said = ""
        try:
            body = json.loads(response.body[:65536])
            if isinstance(body, dict):
                said = " ".join(str(body.get(k)) for k in ("code", "error") if body.get(k))
        except (ValueError, UnicodeDecodeError):
            said = ""
        message = (
            f"platform {self.target.name!r}: {response.url} answered HTTP 451 (unavailable for "
            f"legal reasons{': ' + said if said else ''}): the platform refuses this machine's "
            "network location; run the crawl from a region the platform serves"
        )
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"rightswatch/failures/{FailureStatus.BLOCKED.value}")
        if self.crawler.stats.get_value("rightswatch/platform_error") is None:
            self.crawler.stats.set_value("rightswatch/platform_error", message)
            self.logger.error("%s", message)
        return CloseSpider("unavailable_for_legal_reasons")

    def errback(self, failure: Failure) -> Iterator[CrawlFailure]:
        """Every failed request becomes a recorded failure with its reason."""
        request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        exc = failure.value
        status = FailureStatus.FAILED
        if isinstance(exc, WallDetected):
            status, reason = FailureStatus.BLOCKED, exc.reason
        elif isinstance(exc, (HostRefused, RobotsRefused)):
            reason = exc.reason
        elif isinstance(exc, HttpError) and exc.response.status == 451:
            raise self._unavailable_for_legal_reasons(exc.response)
        elif isinstance(exc, HttpError):
            reason = f"HTTP {exc.response.status}"
            if meta.get("rw_give_up_reason"):
                reason = str(meta["rw_give_up_reason"])
        else:
            reason = meta.get("rw_give_up_reason") or f"{type(exc).__name__}: {exc}"
            if not meta.get("rw_give_up_reason"):
                self.logger.warning("%s failed: %s", request.url, failure.getTraceback())
        kind = meta.get("rw_kind")
        yield self.failure(
            request.url,
            reason,
            status=status,
            kind=kind if isinstance(kind, CandidateKind) else None,
            external_id=meta.get("rw_external_id"),
            record_id=meta.get(META_RECORD_ID),
        )

"""Record: the items into the case file, in batches, one transaction per batch.

Each item becomes a typed write (:func:`candidate_write`, :func:`failure_write`): a candidate
with its media digest, licence flags, the platform's raw JSON, what the crawl parsed
(``raw["crawl"]``), its content fingerprint, the WARC record it came from and its findings; a
:class:`CrawlFailure` with an id as a blocked/failed row (every failure is also listed in the
run's stats with its URL and reason). :class:`evidence.queries.crawled.CrawlRecorder` stores
them (what is inserted, updated or only touched, and how concurrent writers take turns, is
described there).

Batches form from the data, not from a clock: items that arrive while a batch is being written
wait for the next one, so a quiet crawl writes one item per transaction and a busy one many.
All writes happen in the pipeline's one database thread, in arrival order. A batch that fails
for another reason than an insert race is written again one item per transaction, so only the
item at fault fails.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.crawl import ListedFailure
from crawler.items import Candidate, CrawlFailure, FailureStatus, ImageCandidate, ModelCandidate
from crawler.middlewares.warc import warc_path
from evidence.kinds import CandidateState
from evidence.placement import CRAWL_KEY, DISCOVERY_KEY, ItemPlacement
from evidence.queries.crawled import (
    CandidateWrite,
    CrawlRecorder,
    FailureWrite,
    FindingWrite,
    Recorded,
    Write,
)
from evidence.store import Store

MAX_LISTED_FAILURES = 1000
MAX_BATCH = 500  # items per transaction at most (one IN list of their ids)


def crawl_facts(item: Candidate) -> dict[str, Any]:
    """What the crawl parsed, JSON-ready, kept beside the platform's raw JSON."""
    facts: dict[str, Any] = {
        "description": item.description,
        "media_urls": list(item.media_urls),
        "created_at": item.created_at.isoformat() if item.created_at else None,
        "stats": dict(item.stats),
        "fetched_at": item.fetched_at.isoformat(),
        # the one typed hand-off the report reads back (evidence/placement.py)
        DISCOVERY_KEY: ItemPlacement(
            where=item.discovery.placement.value,
            rank=item.discovery.rank,
            listing_url=item.discovery.listing_url,
            term=item.discovery.term,
        ).to_json(),
        "media_error": item.media_error,
        "media_path": item.media_path,
        "match_note": item.match_note,
        "verdicts": [v.to_json() for v in item.verdicts],
    }
    if isinstance(item, ModelCandidate):
        facts.update(
            trigger_words=list(item.trigger_words),
            instance_prompt=item.instance_prompt,
            version_ids=list(item.version_ids),
            base_model=item.base_model,
            files=[asdict(f) for f in item.files],
            safetensors=[asdict(h) for h in item.safetensors],
            header_errors=list(item.header_errors),
        )
    elif isinstance(item, ImageCandidate):
        facts.update(
            prompt=item.prompt,
            negative_prompt=item.negative_prompt,
            resources=[asdict(r) for r in item.resources],
            model_version_ids=list(item.model_version_ids),
            width=item.width,
            height=item.height,
        )
    return facts


def candidate_write(item: Candidate) -> CandidateWrite:
    """The case file's write for a candidate (its verdicts other than "ignore" as findings)."""
    taken_down = item.licence.mode in ("TakenDown", "disabled")
    return CandidateWrite(
        kind=item.kind,
        external_id=item.external_id,
        fetched_at=item.fetched_at,
        fingerprint=item.fingerprint,
        unchanged=item.unchanged,
        counts=item.stats,
        state=CandidateState.TAKEN_DOWN if taken_down else CandidateState.STORED,
        state_reason=f"platform mode {item.licence.mode}" if taken_down else None,
        page_url=item.page_url,
        media_url=item.media_urls[0] if item.media_urls else None,
        title=item.title or "",
        creator=item.creator,
        tags=tuple(item.tags),
        licence=asdict(item.licence),
        raw={"platform": dict(item.raw), CRAWL_KEY: crawl_facts(item)},
        sha256=item.media_sha256,
        warc_record_id=item.warc_record_id,
        findings=tuple(
            FindingWrite(
                character=v.character,
                decision=v.decision,
                score=v.score,
                reference=v.reference,
                reasons=tuple(r.to_json() for r in v.reasons),
            )
            for v in item.verdicts
            if v.character is not None
        ),
    )


def failure_write(item: CrawlFailure) -> FailureWrite | None:
    """The blocked/failed row for a failure with an id (None without one)."""
    if item.kind is None or item.external_id is None:
        return None
    blocked = item.status is FailureStatus.BLOCKED
    return FailureWrite(
        kind=item.kind,
        external_id=item.external_id,
        state=CandidateState.BLOCKED if blocked else CandidateState.FAILED,
        reason=item.reason,
        page_url=item.url,
        at=datetime.now(UTC),
        warc_record_id=item.warc_record_id,
    )


class RecordPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.recorder: CrawlRecorder | None = None
        self.failures: list[ListedFailure] = []
        # One thread owns every write: the reactor keeps downloading while a commit waits.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record")
        self.waiting: list[tuple[Any, asyncio.Future[None]]] = []
        self.drain: asyncio.Future[None] | None = None  # the batch loop, while it runs

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        target = spider.target  # type: ignore[union-attr]
        store: Store | None = getattr(spider, "store", None)
        if store is None:
            raise RuntimeError("the spider was started without a store")
        settings = self.crawler.settings
        value = settings.get("RW_RUN_ID")
        run_id = int(value) if value not in (None, "", "adhoc") else None
        directory = settings.get("RW_WARC_DIR")
        run = str(value or "adhoc")
        warc_file = str(warc_path(directory, run, spider.name)) if directory else None  # type: ignore[union-attr]
        self.recorder = CrawlRecorder(
            store, (target.name, target.kind, target.base), run_id, warc_file
        )
        self.recorder.open()

    def close_spider(self) -> None:
        self.writer.shutdown(wait=True)
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("rightswatch/failure_list", self.failures[:MAX_LISTED_FAILURES])

    async def process_item(self, item: Any) -> Any:
        """Queue ``item`` for the next batch and wait until its batch is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self.waiting.append((item, done))
        if self.drain is None:
            self.drain = asyncio.ensure_future(self._drain())
        await done
        return item

    async def _drain(self) -> None:
        """Write what waits, batch after batch, until nothing waits."""
        loop = asyncio.get_running_loop()
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
                items = [item for item, _ in batch]
                try:
                    errors = await loop.run_in_executor(self.writer, self.record, items)
                except BaseException as exc:  # cancelled or shut down: no item waits forever
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    raise
                for (_, done), error in zip(batch, errors, strict=True):
                    if error is None:
                        done.set_result(None)
                    else:
                        done.set_exception(error)
        finally:
            self.drain = None

    def record(self, items: list[Any]) -> list[Exception | None]:
        """Record ``items`` in the calling thread, in one transaction; per item, its error.

        Scrapy goes through :meth:`process_item`. When the batch fails, each item is written
        again in a transaction of its own, so that only the item at fault fails."""
        # Not swallowed: each error is raised again in its own item's process_item, where
        # Scrapy reports it as it did for one item per transaction.
        try:
            self._record(items)
            return [None] * len(items)
        except Exception as exc:  # noqa: BLE001
            if len(items) == 1:
                return [exc]
        errors: list[Exception | None] = []
        for item in items:
            try:
                self._record([item])
                errors.append(None)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
        return errors

    def _record(self, items: list[Any]) -> None:
        assert self.recorder is not None, "open_spider first"
        writes: list[Write] = []
        for item in items:
            write = failure_write(item) if isinstance(item, CrawlFailure) else candidate_write(item)
            if write is not None:
                writes.append(write)
        recorded = self.recorder.write(writes)
        # counted once the batch is committed (a batch run again is not counted twice)
        stats = self.crawler.stats
        assert stats is not None
        for item in items:
            if isinstance(item, CrawlFailure):
                self._list(item.url, item.status, item.reason, item)
            elif item.media_error:
                self._list(
                    item.media_urls[0], FailureStatus.FAILED, f"media: {item.media_error}", item
                )
        for outcome in recorded:
            if isinstance(outcome, Recorded):
                stats.inc_value(f"rightswatch/candidates_{outcome.outcome.value}")
                if outcome.findings_new:
                    stats.inc_value("rightswatch/findings_new", outcome.findings_new)

    def _list(
        self, url: str, status: FailureStatus, reason: str, item: Candidate | CrawlFailure
    ) -> None:
        kind = item.kind.value if item.kind else None
        self.failures.append(ListedFailure(url, status.value, reason, kind, item.external_id))

"""Record: one transaction per item into the case file.

- A new candidate is inserted (first and last seen = fetch time), with its media digest,
  perceptual hashes, licence flags, the platform's raw JSON, what the crawl parsed
  (``raw["crawl"]``), its content fingerprint, and the WARC file and record it came from.
- A known candidate whose fingerprint is unchanged only gets ``last_seen`` moved.
- A changed candidate is updated in place (first seen kept).
- Verdicts other than "ignore" become or update Findings (candidate x character); a person's
  status on an existing finding is never touched.
- A :class:`CrawlFailure` never becomes content: with an id it is stored as a candidate in
  state blocked/failed with its reason (unless content is already stored for that id); every
  failure is also listed in the run's stats with its URL and reason.

Several crawls may write to one case file at once (distributed shards on PostgreSQL): a known
candidate is read with ``SELECT ... FOR UPDATE``, so writers of the same item take turns, and a
transaction that loses the race to insert the same platform, candidate or finding (a unique
key violation) is run again, then finds the row the other writer committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

from scrapy.crawler import Crawler
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.items import Candidate, CrawlFailure, FailureStatus, ImageCandidate, ModelCandidate
from crawler.middlewares.warc import warc_path
from crawler.state import fingerprint
from evidence.dissemination import HISTORY_KEY, history, observe
from evidence.models import Candidate as CandidateRow
from evidence.models import CandidateState, Character, Decision, Finding, Platform
from evidence.placement import CRAWL_KEY, DISCOVERY_KEY, ItemPlacement
from evidence.store import Store

MAX_LISTED_FAILURES = 1000
RACE_ATTEMPTS = 3  # a transaction that lost an insert race to another writer is run again
T = TypeVar("T")


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
        "verdicts": [dict(v) for v in item.verdicts],
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


class RecordPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.platform_id: int | None = None
        self.characters: dict[str, int] = {}
        self.failures: list[dict[str, Any]] = []
        # One thread owns every write: the reactor keeps downloading while a commit waits.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def store(self) -> Store:
        store: Store | None = getattr(self.crawler.spider, "store", None)
        if store is None:
            raise RuntimeError("the spider was started without a store")
        return store

    @property
    def run_id(self) -> int | None:
        value = self.crawler.settings.get("RW_RUN_ID")
        return int(value) if value not in (None, "", "adhoc") else None

    def _write(self, work: Callable[[Session], T]) -> T:
        """``work`` in one transaction, again when a concurrent writer inserted a key first."""
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                with self.store.session() as session:
                    return work(session)
            except IntegrityError:
                if attempt == RACE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def open_spider(self) -> None:
        spider = self.crawler.spider
        target = spider.target  # type: ignore[union-attr]

        def platform(session: Session) -> None:
            row = session.scalar(select(Platform).where(Platform.name == target.name))
            if row is None:
                row = Platform(name=target.name, kind=target.kind, base_url=target.base)
                session.add(row)
                session.flush()
            self.platform_id = row.id
            self.characters = {c.name: c.id for c in session.scalars(select(Character))}

        self._write(platform)
        directory = self.crawler.settings.get("RW_WARC_DIR")
        run = str(self.crawler.settings.get("RW_RUN_ID") or "adhoc")
        self.warc_file = str(warc_path(directory, run, spider.name)) if directory else None  # type: ignore[union-attr]

    def close_spider(self) -> None:
        self.writer.shutdown(wait=True)
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("rightswatch/failure_list", self.failures[:MAX_LISTED_FAILURES])

    async def process_item(self, item: Any) -> Any:
        """Record in the pipeline's one database thread (one transaction per item, in order)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.writer, self.record, item)
        return item

    def record(self, item: Any) -> None:
        """Record one item in the calling thread (Scrapy goes through :meth:`process_item`)."""
        stats = self.crawler.stats
        assert stats is not None
        if isinstance(item, CrawlFailure):
            self._failure(item)
            return
        if item.media_error:
            self._list(item.media_urls[0], FailureStatus.FAILED, f"media: {item.media_error}", item)
        outcome = self._write(lambda session: self._candidate(session, item))
        stats.inc_value(f"rightswatch/candidates_{outcome}")

    def _list(
        self, url: str, status: FailureStatus, reason: str, item: Candidate | CrawlFailure
    ) -> None:
        self.failures.append(
            {
                "url": url,
                "status": status.value,
                "reason": reason,
                "kind": item.kind.value if item.kind else None,
                "external_id": item.external_id,
            }
        )

    def _failure(self, item: CrawlFailure) -> None:
        self._list(item.url, item.status, item.reason, item)
        if item.kind is None or item.external_id is None:
            return
        state = (
            CandidateState.BLOCKED
            if item.status is FailureStatus.BLOCKED
            else CandidateState.FAILED
        )
        now = datetime.now(UTC)

        def record(session: Session) -> None:
            assert item.kind is not None and item.external_id is not None
            row = self._find(session, item.kind.value, item.external_id)
            if row is None:
                session.add(
                    CandidateRow(
                        platform_id=self.platform_id,
                        kind=item.kind,
                        external_id=item.external_id,
                        state=state,
                        state_reason=item.reason,
                        page_url=item.url,
                        first_seen=now,
                        last_seen=now,
                        warc_file=self.warc_file if item.warc_record_id else None,
                        warc_record_id=item.warc_record_id,
                        run_id=self.run_id,
                    )
                )
            elif row.state in (CandidateState.BLOCKED, CandidateState.FAILED):
                row.state, row.state_reason, row.last_seen = state, item.reason, now

        self._write(record)

    def _find(self, session: Session, kind: str, external_id: str) -> CandidateRow | None:
        return session.scalar(
            select(CandidateRow)
            .where(
                CandidateRow.platform_id == self.platform_id,
                CandidateRow.kind == kind,
                CandidateRow.external_id == external_id,
            )
            .with_for_update()
        )

    def _candidate(self, session: Session, item: Candidate) -> str:
        row = self._find(session, item.kind.value, item.external_id)
        seen = observe(history(row.raw) if row is not None else None, item.stats, item.fetched_at)
        if row is not None and item.unchanged:
            row.last_seen = item.fetched_at
            if seen != history(row.raw):  # counts moved: keep the observation
                row.raw = {**row.raw, HISTORY_KEY: seen}
            return "unchanged"
        taken_down = item.licence.mode in ("TakenDown", "disabled")
        fields: dict[str, Any] = {
            "state": CandidateState.TAKEN_DOWN if taken_down else CandidateState.STORED,
            "state_reason": f"platform mode {item.licence.mode}" if taken_down else None,
            "page_url": item.page_url,
            "media_url": item.media_urls[0] if item.media_urls else None,
            "title": item.title or "",
            "creator": item.creator,
            "tags": list(item.tags),
            "licence": asdict(item.licence),
            "raw": {"platform": dict(item.raw), CRAWL_KEY: crawl_facts(item)},
            "fingerprint": fingerprint(item),
            "sha256": item.media_sha256,
            "last_seen": item.fetched_at,
            "warc_file": self.warc_file,
            "warc_record_id": item.warc_record_id,
        }
        fields["raw"]["fingerprint"] = fields.pop("fingerprint")
        fields["raw"][HISTORY_KEY] = seen
        if row is None:
            row = CandidateRow(
                platform_id=self.platform_id,
                kind=item.kind,
                external_id=item.external_id,
                first_seen=item.fetched_at,
                run_id=self.run_id,
                **fields,
            )
            session.add(row)
            outcome = "new"
        else:
            for key, value in fields.items():
                setattr(row, key, value)
            outcome = "updated"
        session.flush()
        self._findings(session, row, item)
        return outcome

    def _findings(self, session: Session, row: CandidateRow, item: Candidate) -> None:
        stats = self.crawler.stats
        assert stats is not None
        for verdict in item.verdicts:
            decision = Decision(str(verdict["decision"]))
            character_id = self.characters.get(str(verdict["character"]))
            if decision is Decision.IGNORE or character_id is None:
                continue
            finding = session.scalar(
                select(Finding).where(
                    Finding.candidate_id == row.id, Finding.character_id == character_id
                )
            )
            if finding is None:
                finding = Finding(
                    candidate_id=row.id, character_id=character_id, run_id=self.run_id
                )
                session.add(finding)
                stats.inc_value("rightswatch/findings_new")
            finding.score = float(verdict["score"])
            finding.decision = decision
            finding.reasons = list(verdict.get("reasons", []))
            finding.reference = verdict.get("reference")

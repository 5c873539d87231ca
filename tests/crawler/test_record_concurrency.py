"""The record pipeline under concurrent writers on a shared PostgreSQL case file.

Two crawls (two shards, two workers) meet the same items at the same time: each item must end
up as one candidate with its findings, and no writer may fail on the unique keys.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from crawler.items import Discovery, ImageCandidate, LicenceFlags
from crawler.pipelines.record import RecordPipeline
from crawler.plan import PlatformTarget
from evidence.models import Candidate, Character, Client, Decision, Finding, Platform, PlatformKind
from evidence.store import Store
from matching import Verdict
from tests.support.pipelines import FakeCrawler, FakeSpider, FakeStats

WRITERS = 4
ITEMS = 40


def _item(n: int) -> ImageCandidate:
    return ImageCandidate(
        platform="civitai",
        external_id=str(9_000_000 + n),
        page_url=f"http://127.0.0.1/images/{9_000_000 + n}",
        media_urls=(f"http://127.0.0.1/cdn/{n}.jpeg",),
        title=f"image {n}",
        description=None,
        tags=(),
        creator="someone",
        created_at=None,
        stats={},
        licence=LicenceFlags(),
        raw={"id": 9_000_000 + n},
        fetched_at=datetime.now(UTC),
        warc_record_id=None,
        discovery=Discovery(listing_url="http://127.0.0.1/api/v1/images"),
        verdicts=(Verdict("Pipera", Decision.FLAG, 0.9, None, ()),),
    )


def test_concurrent_writers_store_each_item_once(pg_url: str) -> None:
    store = Store.open(pg_url)
    with store.session() as s:
        client = Client(name="c")
        s.add(client)
        s.flush()
        s.add(Character(client_id=client.id, name="Pipera"))
    target = PlatformTarget(
        name="civitai", kind=PlatformKind.CIVITAI, base_url="http://127.0.0.1", search_terms=()
    )
    items = [_item(n) for n in range(ITEMS)]
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    stats: list[FakeStats] = []

    def writer() -> None:
        crawler = FakeCrawler(FakeSpider(target, store), FakeStats(), {"RW_RUN_ID": "adhoc"})
        stats.append(crawler.stats)
        pipeline = RecordPipeline(crawler)  # type: ignore[arg-type]

        async def record_all() -> None:
            for item in items:
                await pipeline.process_item(item)

        try:
            barrier.wait()
            pipeline.open_spider()
            asyncio.run(record_all())
        except BaseException as exc:
            errors.append(exc)
        finally:
            pipeline.close_spider()

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Platform)) == 1
        assert s.scalar(select(func.count()).select_from(Candidate)) == ITEMS
        assert s.scalar(select(func.count()).select_from(Finding)) == ITEMS
    new = sum(st.values.get("rightswatch/candidates_new", 0) for st in stats)
    updated = sum(st.values.get("rightswatch/candidates_updated", 0) for st in stats)
    findings = sum(st.values.get("rightswatch/findings_new", 0) for st in stats)
    assert new == ITEMS  # each item counted new by exactly one writer
    assert updated == ITEMS * (WRITERS - 1)
    assert findings == ITEMS
    store.dispose()

"""The record pipeline writes the items that wait together in one transaction, and a bad item
fails alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from crawler.items import Discovery, ImageCandidate, LicenceFlags
from crawler.pipelines.record import RecordPipeline
from crawler.plan import PlatformTarget
from evidence.kinds import Decision
from evidence.models import Candidate, Finding, PlatformKind
from evidence.queries.references import mirror_client
from evidence.store import Store
from matching import Verdict
from tests.support.pipelines import FakeCrawler, FakeSpider, FakeStats


def _item(n: int, raw: dict[str, Any] | None = None) -> ImageCandidate:
    return ImageCandidate(
        platform="civitai",
        external_id=str(n),
        page_url=f"http://127.0.0.1/images/{n}",
        media_urls=(),
        title=f"image {n}",
        description=None,
        tags=(),
        creator="someone",
        created_at=None,
        stats={},
        licence=LicenceFlags(),
        raw=raw if raw is not None else {"id": n},
        fetched_at=datetime.now(UTC),
        warc_record_id=None,
        discovery=Discovery(listing_url="http://127.0.0.1/api/v1/images"),
        verdicts=(Verdict("Hero", Decision.FLAG, 0.9, None, ()),),
    )


def _pipeline(tmp_path: Path) -> tuple[RecordPipeline, Store, list[int]]:
    store = Store.open(f"sqlite:///{tmp_path / 'case.db'}")
    mirror_client(store, "Acme", "", [("Hero", None)])
    target = PlatformTarget(
        name="civitai", kind=PlatformKind.CIVITAI, base_url="http://127.0.0.1", search_terms=()
    )
    crawler = FakeCrawler(FakeSpider(target, store), FakeStats(), {"RW_RUN_ID": "adhoc"})
    pipeline = RecordPipeline(crawler)  # type: ignore[arg-type]
    pipeline.open_spider()
    assert pipeline.recorder is not None
    sizes: list[int] = []
    write = pipeline.recorder.write

    def counted(batch: Any) -> Any:
        sizes.append(len(batch))
        return write(batch)

    pipeline.recorder.write = counted  # type: ignore[method-assign]
    return pipeline, store, sizes


def _count(store: Store, model: Any) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_items_waiting_together_share_one_transaction(tmp_path: Path) -> None:
    pipeline, store, sizes = _pipeline(tmp_path)

    async def record_all() -> None:
        await asyncio.gather(*(pipeline.process_item(_item(n)) for n in range(10)))

    asyncio.run(record_all())
    pipeline.close_spider()
    assert sizes == [10]
    assert _count(store, Candidate) == 10 and _count(store, Finding) == 10
    assert pipeline.crawler.stats.values["rightswatch/candidates_new"] == 10  # type: ignore[attr-defined]
    assert pipeline.crawler.stats.values["rightswatch/findings_new"] == 10  # type: ignore[attr-defined]
    store.dispose()


def test_a_bad_item_fails_alone(tmp_path: Path) -> None:
    pipeline, store, sizes = _pipeline(tmp_path)
    bad = _item(99, raw={"not json": object()})

    async def record_all() -> list[Any]:
        items = [_item(n) for n in range(4)] + [bad]
        return await asyncio.gather(
            *(pipeline.process_item(i) for i in items), return_exceptions=True
        )

    results = asyncio.run(record_all())
    pipeline.close_spider()
    assert [isinstance(r, Exception) for r in results] == [False] * 4 + [True]
    assert sizes == [5, 1, 1, 1, 1, 1]  # the batch, then each item in a transaction of its own
    assert _count(store, Candidate) == 4
    store.dispose()

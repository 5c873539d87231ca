"""Match: ask the likeness engine about every new or changed candidate.

The engine is built once per crawl process (:mod:`crawler.engine_builder`) and handed to each spider
as ``spider.likeness``. Judging runs in a worker thread so the crawl keeps downloading. The
evidence passed is everything the platform said: title, description, tags, trigger words,
prompt, file names, creator, the first safetensors ``__metadata__``, the generation metadata
Civitai reports for an image (``meta``: resources, civitaiResources, hashes), and the media's
working frame the media pipeline already decoded (with the provenance its file carries).
Identical evidence (same media digest and same words) is judged once per run. Without an
engine, candidates pass with ``match_note`` saying why and no verdict; an engine error on one
candidate is kept as its note and the crawl goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.engine_builder import EngineLoad
from crawler.items import Candidate, CrawlFailure, ModelCandidate
from matching import (
    NO_PROVENANCE,
    CandidateEvidence,
    MatchingError,
    Subject,
    Verdict,
    parse_civitai_meta,
)

Judged = tuple[tuple[Verdict, ...], str | None]  # the verdicts, or why there are none


def evidence_key(item: Candidate) -> str:
    parts = [item.media_sha256 or "", item.title or "", item.description or "", item.creator or ""]
    parts += sorted(item.tags)
    if isinstance(item, ModelCandidate):
        parts += list(item.trigger_words) + [f.name for f in item.files]
        parts += [json.dumps(dict(h.metadata), sort_keys=True) for h in item.safetensors[:1]]
    else:
        parts.append(item.prompt or "")
        parts.append(json.dumps(item.raw.get("meta"), sort_keys=True, default=str))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def build_evidence(item: Candidate) -> CandidateEvidence:
    label = f"{item.platform} {item.kind.value} {item.external_id}"
    common: dict[str, Any] = {
        "label": label,
        "decoded": (item.decoded,) if item.decoded is not None else (),
        "title": item.title or "",
        "description": item.description or "",
        "tags": tuple(item.tags),
        "creator": item.creator or "",
    }
    if isinstance(item, ModelCandidate):
        return CandidateEvidence(
            **common,
            subject=Subject.MODEL,
            file_names=tuple(f.name for f in item.files),
            lora_metadata=dict(item.safetensors[0].metadata) if item.safetensors else None,
            trained_words=() if item.instance_prompt else tuple(item.trigger_words),
            instance_prompt=item.instance_prompt or "",
        )
    meta = item.raw.get("meta")
    return CandidateEvidence(
        **common,
        prompt=item.prompt or "",
        generation=parse_civitai_meta(meta) if meta else NO_PROVENANCE,
    )


class MatchPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.cache: dict[str, Judged] = {}
        self.pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="likeness")

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def _judge(self, load: EngineLoad, item: Candidate) -> Judged:
        engine = load.engine
        assert engine is not None
        try:
            verdicts = engine.judge(build_evidence(item))
        except MatchingError as exc:
            return (), f"not judged: {exc}"
        return tuple(v for v in verdicts if v.character is not None), None

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, CrawlFailure) or item.unchanged:
            return item
        stats = self.crawler.stats
        assert stats is not None
        load: EngineLoad | None = getattr(self.crawler.spider, "likeness", None)
        if load is None or load.engine is None:
            stats.inc_value("rightswatch/match_skipped")
            note = load.note if load is not None else "likeness engine not loaded"
            return dataclasses.replace(item, match_note=note)
        key = evidence_key(item)
        if key not in self.cache:
            loop = asyncio.get_running_loop()
            self.cache[key] = await loop.run_in_executor(self.pool, self._judge, load, item)
        else:
            stats.inc_value("rightswatch/match_reused")
        verdicts, problem = self.cache[key]
        stats.inc_value("rightswatch/judged")
        if problem:
            stats.inc_value("rightswatch/match_errors")
        return dataclasses.replace(item, verdicts=verdicts, match_note=problem)

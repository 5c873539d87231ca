"""Crawl shards: a crawl plan cut into independent pieces of work, and running one.

A shard is one listing of one platform, walked to its end by one worker:

- Civitai: one shard per search term, one per tag, one for the recent models and images. A search
  term's listing needs cursor pagination (platforms.md §1.2: ``query`` with ``page`` is a 400)
  and each cursor comes from the page before, so a listing cannot be cut into page ranges
  without forging cursors; numbered pages exist only for the first 1,000 items of tag and
  recent listings (§1.2, §1.5), which the incremental stop rule ends after a few pages anyway.
- Hugging Face: one shard per search term (the ``Link: rel="next"`` chain is sequential, §2.1),
  and one for the ``text-to-image`` and base-model adapter listings (untagged LoRAs).
- JavaScript galleries: one shard per platform (every crawl starts on the home page and the
  feeds are cursor-based infinite scrolls, platforms.md §4.4).

A model found by two terms is fetched by both shards; the case file's unique key (platform,
kind, external id) and the record pipeline's upsert keep one candidate. A shard runs in a crawl
child started by :func:`crawler.launch.launch_crawl_child`, the launcher local runs use too; the
child is killed with its worker (``PR_SET_PDEATHSIG``), so a redelivered shard never races an
orphan.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from crawler.crawl import PlatformReport, Progress, progress_lines
from crawler.launch import launch_crawl_child
from crawler.plan import CrawlPlan, PlatformTarget
from evidence.folders import private_folder
from evidence.models import PlatformKind
from rightswatch.distributed.errors import ShardFailed


class Listing(enum.StrEnum):
    TERM = "term"
    TAG = "tag"
    RECENT = "recent"
    WHOLE = "whole"  # the platform's full crawl in one shard


SPLIT_KINDS = frozenset({PlatformKind.CIVITAI, PlatformKind.HUGGINGFACE})


def slug(key: str) -> str:
    """A file-system-safe folder name for a shard key."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_")[:80] or "shard"


@dataclass(frozen=True)
class Shard:
    """One listing of one platform; ``key`` names it within a run."""

    platform: str
    listing: Listing
    value: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}/{self.listing.value}/{self.value}"

    def target(self, whole: PlatformTarget) -> PlatformTarget:
        """The platform target restricted to this shard's listing."""
        if self.listing is Listing.WHOLE:
            return whole
        terms = (self.value,) if self.listing is Listing.TERM else ()
        tags = (self.value,) if self.listing is Listing.TAG else ()
        recent = self.listing is Listing.RECENT
        return replace(
            whole,
            search_terms=terms,
            tags=tags,
            recent_pages=whole.recent_pages if recent else 0,
            recent_model_pages=whole.recent_model_pages if recent else 0,
        )


def split_target(target: PlatformTarget) -> list[Shard]:
    """The shards of one platform (see the module docstring for the rules)."""
    if target.kind not in SPLIT_KINDS:
        return [Shard(target.name, Listing.WHOLE)]
    shards = [Shard(target.name, Listing.TERM, t) for t in dict.fromkeys(target.search_terms)]
    if target.kind is PlatformKind.CIVITAI:
        shards += [Shard(target.name, Listing.TAG, t) for t in dict.fromkeys(target.tags)]
    recent_models = target.kind is PlatformKind.CIVITAI and target.recent_model_pages > 0
    if target.recent_pages > 0 or recent_models:
        shards.append(Shard(target.name, Listing.RECENT))
    return shards


def split_plan(plan: CrawlPlan) -> list[tuple[Shard, CrawlPlan]]:
    """Every shard of ``plan`` with the one-listing plan a worker runs for it."""
    pieces: list[tuple[Shard, CrawlPlan]] = []
    for target in plan.targets:
        for shard in split_target(target):
            pieces.append((shard, replace(plan, targets=(shard.target(target),))))
    return pieces


@dataclass(frozen=True)
class ShardResult:
    """What a finished shard posts on the result board."""

    shard: str
    platform: PlatformReport
    worker: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "shard": self.shard,
            "worker": self.worker,
            "seconds": self.seconds,
            "platform": self.platform.to_json(),  # the one schema of a platform's report
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShardResult:
        return cls(
            shard=str(data["shard"]),
            worker=str(data["worker"]),
            seconds=float(data["seconds"]),
            platform=PlatformReport.from_json(data["platform"]),
        )


def run_shard(
    run_id: int,
    shard_key: str,
    plan: CrawlPlan,
    output_root: Path,
    on_progress: Callable[[Progress], None] | None = None,
) -> PlatformReport:
    """Crawl one shard in a child process; its files go to a fresh folder per attempt."""
    folder = f"{slug(shard_key)}-{uuid.uuid4().hex[:8]}"
    attempt = private_folder(output_root / f"run-{run_id}" / "shards" / folder)
    private_folder(attempt / f"run-{run_id}")  # the child logs there
    plan = replace(plan, run_id=run_id, output_dir=attempt)
    outcome = launch_crawl_child(
        plan, attempt, log_file=attempt / "child.log", on_line=progress_lines(on_progress)
    )
    error = outcome.error(None)
    if error is not None:
        raise ShardFailed(run_id, shard_key, f"{error} ({attempt})")
    data = json.loads(outcome.report_file.read_text(encoding="utf-8"))
    reports = data.get("platforms") or []
    if len(reports) != 1:
        raise ShardFailed(
            run_id, shard_key, f"expected one platform report in {outcome.report_file}"
        )
    return PlatformReport.from_json(reports[0])

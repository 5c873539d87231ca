"""Crawl shards: a crawl plan cut into independent pieces of work, and running one.

A shard is one listing of one platform, walked to its end by one worker:

- Civitai: one shard per search term, one per tag, one for the "recent images" pages. A search
  term's listing needs cursor pagination (platforms.md §1.2: ``query`` with ``page`` is a 400)
  and each cursor comes from the page before, so a listing cannot be cut into page ranges
  without forging cursors; numbered pages exist only for the first 1,000 items of tag and
  recent listings (§1.2, §1.5), which the incremental stop rule ends after a few pages anyway.
- Hugging Face: one shard per search term (the ``Link: rel="next"`` chain is sequential, §2.1).
- JavaScript galleries: one shard per platform (every crawl starts on the home page and the
  feeds are cursor-based infinite scrolls, platforms.md §4.4).

A model found by two terms is fetched by both shards; the case file's unique key (platform,
kind, external id) and the record pipeline's upsert keep one candidate. A shard runs as
``python -m crawler.run`` in a child process (Twisted cannot restart in a process); the child
is killed with its worker (``PR_SET_PDEATHSIG``), so a redelivered shard never races an orphan.
"""

from __future__ import annotations

import ctypes
import enum
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from crawler.plan import CrawlPlan, PlatformTarget
from crawler.run import PlatformReport, Progress
from evidence.models import PlatformKind
from rightswatch.distributed.errors import ShardFailed

PR_SET_PDEATHSIG = 1


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
        recent = whole.recent_pages if self.listing is Listing.RECENT else 0
        return replace(whole, search_terms=terms, tags=tags, recent_pages=recent)


def split_target(target: PlatformTarget) -> list[Shard]:
    """The shards of one platform (see the module docstring for the rules)."""
    if target.kind not in SPLIT_KINDS:
        return [Shard(target.name, Listing.WHOLE)]
    shards = [Shard(target.name, Listing.TERM, t) for t in dict.fromkeys(target.search_terms)]
    if target.kind is PlatformKind.CIVITAI:
        shards += [Shard(target.name, Listing.TAG, t) for t in dict.fromkeys(target.tags)]
        if target.recent_pages > 0:
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
        p = self.platform
        return {
            "shard": self.shard,
            "worker": self.worker,
            "seconds": self.seconds,
            "platform": {
                "name": p.name,
                "finish_reason": p.finish_reason,
                "counters": dict(p.counters),
                "warc_file": p.warc_file,
                "match_note": p.match_note,
                "failures": [dict(f) for f in p.failures],
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShardResult:
        p = data["platform"]
        return cls(
            shard=str(data["shard"]),
            worker=str(data["worker"]),
            seconds=float(data["seconds"]),
            platform=PlatformReport(
                name=str(p["name"]),
                finish_reason=str(p["finish_reason"]),
                counters={k: int(v) for k, v in p["counters"].items()},
                warc_file=p.get("warc_file"),
                match_note=p.get("match_note"),
                failures=tuple(p.get("failures", [])),
            ),
        )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _preexec() -> Callable[[], None] | None:
    return _die_with_parent if sys.platform.startswith("linux") else None


def run_shard(
    run_id: int,
    shard_key: str,
    plan: CrawlPlan,
    output_root: Path,
    on_progress: Callable[[Progress], None] | None = None,
) -> PlatformReport:
    """Crawl one shard in a child process; its files go to a fresh folder per attempt."""
    folder = f"{slug(shard_key)}-{uuid.uuid4().hex[:8]}"
    attempt = output_root / f"run-{run_id}" / "shards" / folder
    (attempt / f"run-{run_id}").mkdir(parents=True, exist_ok=True)  # the child logs there
    plan = replace(plan, run_id=run_id, output_dir=attempt)
    plan_file, report_file = attempt / "plan.json", attempt / "report.json"
    plan_file.write_text(plan.to_json(), encoding="utf-8")
    with (attempt / "child.log").open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "crawler.run", str(plan_file), str(report_file)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_preexec(),  # only prctl(2) between fork and exec
        )
        try:
            assert child.stdout is not None
            for line in child.stdout:
                progress = Progress.from_line(line)
                if progress is not None and on_progress is not None:
                    on_progress(progress)
            code = child.wait()
        except BaseException:
            child.kill()
            child.wait()
            raise
    if code != 0 or not report_file.exists():
        raise ShardFailed(run_id, shard_key, f"crawl child exited with {code}; see {attempt}")
    data = json.loads(report_file.read_text(encoding="utf-8"))
    reports = data.get("platforms") or []
    if len(reports) != 1:
        raise ShardFailed(run_id, shard_key, f"expected one platform report in {report_file}")
    return PlatformReport.from_json(reports[0])

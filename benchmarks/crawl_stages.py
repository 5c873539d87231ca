"""CPU of one crawl child, by stage (benchmark only: the product never imports this).

    python -m benchmarks.crawl_stages PLAN.json REPORT.json STAGES.json [PROFILE.pstats]

Runs the same crawl child as ``python -m crawler.crawl`` (``crawl_in_this_process``) with stage
timers wrapped around the functions each stage runs, then writes the per-stage CPU seconds to
STAGES.json. A timer reads the calling thread's CPU clock (``time.thread_time``), so work done
off the reactor thread (media checks, the database thread, the likeness thread) is counted
where it runs. Timers are exclusive: a stage entered inside another (a SHA-256 digest inside a
WARC write, a commit inside a record) is charged to the inner stage only, so the stages add up.
"other" is the child's whole CPU (``getrusage``) minus the stages: Scrapy's engine, Twisted,
HTTP, the middlewares, what is not wrapped, and any native worker thread (the crawl child
holds OpenCV and faiss to one thread, so their work is charged to the stage that called
them). Wrapped names that do not exist are skipped and listed, so the table says what it
measured. With PROFILE.pstats, the reactor thread also runs
under cProfile (which sees that thread only) to show what "other" is made of.
"""

from __future__ import annotations

import functools
import inspect
import json
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_local = threading.local()
_lock = threading.Lock()
CPU: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def _stack() -> list[list[Any]]:
    stack: list[list[Any]] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _enter(stage: str) -> None:
    now = time.thread_time()
    stack = _stack()
    if stack:
        outer = stack[-1]
        _charge(outer[0], now - outer[1])
    stack.append([stage, now])


def _leave() -> None:
    now = time.thread_time()
    stack = _stack()
    stage, started = stack.pop()
    _charge(stage, now - started)
    CALLS[stage] += 1
    if stack:
        stack[-1][1] = now


def _charge(stage: str, seconds: float) -> None:
    with _lock:
        CPU[stage] += seconds


def timed(stage: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its CPU charged to ``stage`` (generators: each step)."""
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def steps(*args: Any, **kwargs: Any) -> Iterator[Any]:
            gen = func(*args, **kwargs)
            while True:
                _enter(stage)
                try:
                    value = next(gen)
                except StopIteration:
                    return
                finally:
                    _leave()
                yield value

        return steps

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        _enter(stage)
        try:
            return func(*args, **kwargs)
        finally:
            _leave()

    return call


# (stage, "module:attribute path"): what each stage runs. Stages nested inside another stage
# (digest and gzip inside a WARC write, commit inside a record) are charged exclusively.
SPIDER = "spider callbacks (parse to items)"
WRAPPED = (
    ("WARC: records (headers, copying)", "crawler.middlewares.warc:WarcFile.write_exchange"),
    ("WARC: records (headers, copying)", "crawler.middlewares.warc:WarcFile.write_rendered"),
    ("WARC: SHA-256 digests", "warcio.utils:Digester.update"),
    ("WARC: gzip (one member per record)", "evidence.capture.warc:gzip_member"),
    ("JSON parsing (json.loads)", "json:loads"),
    (SPIDER, "crawler.spiders.civitai:CivitaiSpider.parse_models"),
    (SPIDER, "crawler.spiders.civitai:CivitaiSpider.parse_images"),
    (SPIDER, "crawler.spiders.huggingface:HuggingFaceSpider.parse_search"),
    (SPIDER, "crawler.spiders.huggingface:HuggingFaceSpider.parse_info"),
    (SPIDER, "crawler.spiders.lora:LoraSpider._on_first"),
    (SPIDER, "crawler.spiders.lora:LoraSpider._on_rest"),
    ("content fingerprint", "crawler.items:content_fingerprint"),
    ("media: decode, bomb guard, hashes", "crawler.pipelines.media:check_image"),
    ("media: store by SHA-256", "crawler.pipelines.media:store_bytes"),
    ("likeness engine: load references", "crawler.child:load_engine"),
    ("matching (likeness engine)", "crawler.pipelines.match:MatchPipeline._judge"),
    ("database: record (writes built, ORM work)", "crawler.pipelines.record:RecordPipeline.record"),
    ("database: flush + commit", "sqlalchemy.orm.session:SessionTransaction.commit"),
)


def install() -> list[str]:
    """Wrap every target in :data:`WRAPPED`; the targets not found."""
    import importlib

    missing: list[str] = []
    for stage, target in WRAPPED:
        module_name, path = target.split(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        func = getattr(owner, name, None) if owner is not None else None
        if func is None:
            missing.append(target)
            continue
        setattr(owner, name, timed(stage, func))
    return missing


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as crawler.crawl.main, before numpy and faiss
    from crawler.child import crawl_in_this_process
    from crawler.plan import CrawlPlan

    missing = install()
    before = _process_cpu()
    plan = CrawlPlan.from_json(Path(argv[0]).read_text(encoding="utf-8"))
    if len(argv) > 3:
        import cProfile

        with cProfile.Profile(time.thread_time) as profile:  # the reactor thread's CPU
            crawl_in_this_process(plan, Path(argv[1]))
        profile.dump_stats(argv[3])
    else:
        crawl_in_this_process(plan, Path(argv[1]))
    total = _process_cpu() - before
    Path(argv[2]).write_text(
        json.dumps(
            {
                "process_cpu_s": total,
                "startup_cpu_s": before,
                "stages": dict(CPU),
                "calls": dict(CALLS),
                "missing": missing,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

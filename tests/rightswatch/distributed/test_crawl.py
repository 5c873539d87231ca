"""Distributed crawls: shards run by separate worker processes over a real Redis, written to a
real PostgreSQL case file, against the sandbox."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from crawler.crawl import CrawlReport
from crawler.plan import CrawlPlan, PlatformTarget
from evidence.models import (
    Candidate,
    CandidateKind,
    CandidateState,
    CrawlRun,
    PlatformKind,
    RunStatus,
)
from evidence.store import Store
from rightswatch.config import WatchConfig, load_config
from rightswatch.crawling import plan_from_config
from rightswatch.distributed import run_distributed_crawl
from rightswatch.distributed.broker import connect
from rightswatch.distributed.shards import Listing, split_plan
from tests.support.postgres import RedisSpace
from tests.support.sandbox import SandboxFactory, SandboxServer
from tests.support.workers import WORKER_SECRET, WorkerFactory, crawl_config

TERMS = ("Kobaltron", "Pipera")
SECRET = WORKER_SECRET.encode()
ITEMS = 100
RUN_TIMEOUT_S = 240


def _config(
    tmp: Path, url: str, delay: float = 0.0, terms: tuple[str, ...] = TERMS
) -> tuple[Path, WatchConfig]:
    """The watch.toml the coordinator and its workers share (each reads its own copy)."""
    path = crawl_config(tmp / "client" / "watch.toml", url, terms, delay=delay)
    return path, load_config(path)


def _plan(config: WatchConfig, db: str, out: Path) -> CrawlPlan:
    return replace(plan_from_config(config, db, full=True), output_dir=out)


def _stored(db: str) -> list[tuple[str, str, str]]:
    store = Store.open(db, upgrade=False)
    with store.session() as s:
        rows = [(c.kind.value, c.external_id, c.state.value) for c in s.scalars(select(Candidate))]
    store.dispose()
    return rows


def _truth(sandbox: SandboxServer) -> tuple[set[str], set[str]]:
    """What an anonymous caller sees: mature items need a token (the workers have none)."""
    items = [
        t
        for t in sandbox.truth()
        if t["platform"] == "civitai"
        and not t["removed"]
        and t.get("browsing_level", 1) == 1
        and t.get("nsfw_level", 1) == 1
    ]
    images = {str(t["external_id"]) for t in items if t["kind"] == "image"}
    models = {str(t["external_id"]) for t in items if t["kind"] == "model"}
    return images, models


def _check_complete(report: CrawlReport, db: str, sandbox: SandboxServer) -> None:
    assert report.error is None, report.error
    assert report.status is RunStatus.SUCCEEDED
    rows = _stored(db)
    images, models = _truth(sandbox)
    stored_images = {e for k, e, _ in rows if k == CandidateKind.IMAGE.value}
    stored_models = {e for k, e, _ in rows if k == CandidateKind.MODEL.value}
    assert stored_images == images  # every image of the platform, through "recent" and models
    assert stored_models and stored_models <= models  # the models the terms find
    assert {state for _, _, state in rows} == {CandidateState.STORED.value}
    # exactly once: every stored row was counted new by exactly one shard, none failed
    assert report.totals["candidates_new"] == len(rows)
    assert report.totals["failed"] == 0


def test_plan_is_cut_into_listing_shards() -> None:
    hf = PlatformTarget(
        name="hf",
        kind=PlatformKind.HUGGINGFACE,
        base_url="http://127.0.0.1",
        search_terms=("a", "b"),
    )
    gallery = PlatformTarget(
        name="g", kind=PlatformKind.GALLERY, base_url="http://127.0.0.1", search_terms=("a",)
    )
    civitai = PlatformTarget(
        name="civitai",
        kind=PlatformKind.CIVITAI,
        base_url="http://127.0.0.1",
        search_terms=("a", "a", "b"),
        tags=("t",),
    )
    plan = CrawlPlan(targets=(civitai, hf, gallery), database_url="sqlite://", output_dir=Path("x"))
    pieces = split_plan(plan)
    keys = [shard.key for shard, _ in pieces]
    assert keys == [
        "civitai/term/a",
        "civitai/term/b",
        "civitai/tag/t",
        "civitai/recent/",
        "hf/term/a",
        "hf/term/b",
        "hf/recent/",
        "g/whole/",
    ]
    by_key = {shard.key: piece.targets[0] for shard, piece in pieces}
    assert by_key["civitai/term/b"].search_terms == ("b",)
    assert by_key["civitai/term/b"].tags == () and by_key["civitai/term/b"].recent_pages == 0
    assert by_key["civitai/tag/t"].search_terms == () and by_key["civitai/tag/t"].tags == ("t",)
    assert by_key["civitai/recent/"].recent_pages == civitai.recent_pages
    assert by_key["civitai/recent/"].search_terms == ()
    assert by_key["g/whole/"] == gallery
    assert all(len(piece.targets) == 1 for _, piece in pieces)
    assert {shard.listing for shard, _ in pieces} == set(Listing)


def test_two_workers_find_every_item_exactly_once(
    sandbox_factory: SandboxFactory,
    pg_url: str,
    redis_space: RedisSpace,
    worker_factory: WorkerFactory,
    tmp_path: Path,
) -> None:
    sandbox = sandbox_factory(items=ITEMS)
    path, config = _config(tmp_path, sandbox.url)
    workers = [worker_factory(tmp_path / f"worker-{n}", path, pg_url) for n in (1, 2)]
    conn = connect(redis_space.url, namespace=redis_space.namespace)
    report = run_distributed_crawl(
        _plan(config, pg_url, tmp_path / "coordinator"),
        timeout_s=RUN_TIMEOUT_S,
        connection=conn,
        secret=SECRET,
    )
    conn.close()
    _check_complete(report, pg_url, sandbox)
    store = Store.open(pg_url, upgrade=False)
    with store.session() as s:
        run = s.get(CrawlRun, report.run_id)
        assert run is not None and run.status is RunStatus.SUCCEEDED
        shards = run.stats["shards"]
        assert s.scalar(select(func.count()).select_from(Candidate)) == len(_stored(pg_url))
    store.dispose()
    assert sorted(shards) == ["civitai/recent/", *(f"civitai/term/{t}" for t in sorted(TERMS))]
    pids = {w.pid for w in workers}
    assert {int(info["worker"].rsplit(":", 1)[1]) for info in shards.values()} <= pids
    assert not [k for k in redis_space.keys() if ":results:" in k]  # noqa: SIM118  # the board was cleared


def _children_of_folder(folder: Path) -> list[int]:
    """Processes whose command line mentions ``folder`` (crawl children of one worker)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(folder) in cmdline:
            found.append(int(proc.name))
    return found


def test_killed_worker_loses_nothing(
    sandbox_factory: SandboxFactory,
    pg_url: str,
    redis_space: RedisSpace,
    worker_factory: WorkerFactory,
    tmp_path: Path,
) -> None:
    sandbox = sandbox_factory(items=ITEMS)
    path, config = _config(tmp_path, sandbox.url, delay=0.05, terms=TERMS[:1])
    victim = worker_factory(tmp_path / "victim", path, pg_url)
    victim.wait_until_consuming()
    conn = connect(redis_space.url, namespace=redis_space.namespace)
    outcome: list[CrawlReport] = []
    plan = _plan(config, pg_url, tmp_path / "coordinator")
    runner = threading.Thread(
        target=lambda: outcome.append(
            run_distributed_crawl(plan, timeout_s=RUN_TIMEOUT_S, connection=conn, secret=SECRET)
        )
    )
    runner.start()
    deadline = time.monotonic() + 120
    while not list(victim.output_dir.glob("run-*/shards/*/run-*/*.warc.gz")):
        assert time.monotonic() < deadline, f"the victim never started a crawl:\n{victim.log()}"
        time.sleep(0.05)
    # the victim holds one shard (prefetch 1)
    survivor = worker_factory(tmp_path / "survivor", path, pg_url)
    started = {p.parent.name.rsplit("-", 1)[0] for p in victim.started_shards()}
    os.kill(victim.pid, signal.SIGKILL)  # mid-crawl: its WARC is open, its task unacknowledged
    victim.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _children_of_folder(victim.output_dir):  # its crawl child dies with it
        assert time.monotonic() < deadline, "the killed worker's crawl child outlived it"
        time.sleep(0.1)
    runner.join(timeout=RUN_TIMEOUT_S + 30)
    conn.close()
    assert outcome, f"the run did not return; survivor log:\n{survivor.log()}"
    report = outcome[0]
    _check_complete(report, pg_url, sandbox)
    store = Store.open(pg_url, upgrade=False)
    with store.session() as s:
        run = s.get(CrawlRun, report.run_id)
        assert run is not None
        shards = run.stats["shards"]
    store.dispose()
    assert len(shards) == 2  # one term and "recent"
    redelivered = {k: v for k, v in shards.items() if k.replace("/", "_").strip("_") in started}
    assert redelivered, (started, sorted(shards))  # what the victim had started...
    for info in redelivered.values():  # ...the survivor finished
        assert info["worker"].endswith(f":{survivor.pid}")

"""Distributed crawl throughput: items per second with 1, 2 and 4 workers, and where time goes.

    .venv/bin/python -m benchmarks.scale [--items 20000] [--platforms 4] [--per-shard 100]
                                         [--workers 1,2,4]

One sandbox of ``--items`` items (20,000 by default) serves ``--platforms`` Civitai-shaped
platforms (the same sandbox under different platform names, so each is its own platform in the
case file); each platform is one shard (its "recent images" listing, newest first, media
fetched and hashed), capped at ``--per-shard`` candidates. For each worker count the same plan
runs on a fresh PostgreSQL database (127.0.0.1:5432) and a fresh Redis namespace
(127.0.0.1:6379/15), with ``rightswatch worker --threads 1`` processes started before timing.

Measured per configuration: wall time, candidates stored, items per second and speed-up over
one worker (same process, same sandbox); CPU seconds of the workers with their crawl children
(``RUSAGE_CHILDREN``), of the sandbox process and of the Redis server (from /proc); the time
PostgreSQL spent executing the run's statements (``pg_stat_database.active_time`` of the run's
own database); and how much of the machine (cores x wall) these account for, so the busiest
party shows where the bottleneck is. A warm-up run first fills the sandbox's media cache, so
every configuration sees the same sandbox cost. The load average (other users of the machine)
is printed with the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from crawler.plan import CrawlPlan
from evidence.models import Candidate
from evidence.store import Store
from rightswatch.config import load_config
from rightswatch.crawling import plan_from_config
from rightswatch.distributed import run_distributed_crawl
from rightswatch.distributed.broker import connect
from tests.support.sandbox import SandboxServer, start_sandbox

POSTGRES = os.environ.get(
    "RIGHTSWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("RIGHTSWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_of_named(name: str) -> float:
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == name:
                    total += cpu_of(int(proc.name))
            except OSError:
                continue
    return total


def db_active_seconds(admin: Engine, name: str) -> float:
    """Seconds PostgreSQL spent executing statements in database ``name`` (PostgreSQL 14+)."""
    time.sleep(1.5)  # backends flush their statistics at most once a second
    with admin.connect() as conn:
        value = conn.execute(
            text("SELECT active_time FROM pg_stat_database WHERE datname = :n"), {"n": name}
        ).scalar()
    return float(value or 0) / 1000


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Row:
    workers: int
    items: int
    wall: float
    worker_cpu: float
    sandbox_cpu: float
    db_seconds: float
    redis_cpu: float

    @property
    def rate(self) -> float:
        return self.items / self.wall if self.wall else 0.0


BENCH_SECRET = "benchmark-worker-secret-0123456789abcdef"


def bench_config(sandbox: SandboxServer, platforms: int, out: Path) -> Path:
    """The watch.toml the coordinator and the workers share: ``platforms`` Civitai-shaped
    platforms on the sandbox, read through "recent images" (the one character's name is also
    searched, a short extra shard per platform)."""
    lines = ['[client]\nname = "Bench"\n\n[[characters]]\nname = "Nobody Benchmark"\n']
    for n in range(platforms):
        lines.append(
            f'[[platforms]]\nname = "civitai-{n}"\nkind = "civitai"\nbase_url = "{sandbox.url}"\n'
            "recent_pages = 100\n\n[platforms.politeness]\nconcurrency = 8\n"
            "delay_seconds = 0.0\nautothrottle = false\nobey_robots_txt = false\n"
        )
    path = out / "watch.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def plan_for(config: Path, per_shard: int, db: str, out: Path) -> CrawlPlan:
    plan = plan_from_config(load_config(config), db, full=True, max_items=per_shard)
    return dataclasses.replace(plan, output_dir=out)


def start_workers(
    count: int, namespace: str, out: Path, config: Path, db: str
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "RIGHTSWATCH_REDIS_URL": REDIS, "RIGHTSWATCH_REDIS_NAMESPACE": namespace,
           "RIGHTSWATCH_WORKER_SECRET": BENCH_SECRET, "RIGHTSWATCH_DATABASE_URL": db}  # fmt: skip
    procs = []
    for n in range(count):
        log = (out / f"worker-{n}.log").open("ab")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "rightswatch", "worker", "--queues", "crawl",
                 "--threads", "1", "--output", str(out / f"worker-{n}"), "--config", str(config)],
                stdout=log, stderr=log, env=env, stdin=subprocess.DEVNULL,
            )
        )  # fmt: skip
    deadline = time.monotonic() + 120
    for n in range(count):  # timing starts once every worker consumes
        while "worker consuming" not in (out / f"worker-{n}.log").read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {n} did not start; see {out}")
            time.sleep(0.1)
    return procs


def one_config(
    sandbox: SandboxServer, workers: int, args: argparse.Namespace, root: Path, label: str = ""
) -> Row:
    name = f"rw_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    Store.open(db).dispose()  # migrate before timing
    namespace = f"rwbench-{uuid.uuid4().hex[:8]}"
    out = root / f"workers-{workers}{label}"
    out.mkdir()
    config = bench_config(sandbox, args.platforms, out)
    procs = start_workers(workers, namespace, out, config, db)
    conn = connect(REDIS, namespace=namespace)
    before = (children_cpu(), cpu_of(sandbox.process.pid), db_active_seconds(admin, name),
              cpu_of_named("redis-server"), time.perf_counter())  # fmt: skip
    try:
        report = run_distributed_crawl(
            plan_for(config, args.per_shard, db, out / "coordinator"),
            timeout_s=3600,
            connection=conn,
            secret=BENCH_SECRET.encode(),
        )
        wall = time.perf_counter() - before[4]
        sandbox_cpu = cpu_of(sandbox.process.pid) - before[1]
        redis_cpu = cpu_of_named("redis-server") - before[3]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        conn.close()
    db_time = db_active_seconds(admin, name) - before[2]
    if report.error or not report.ok:
        raise RuntimeError(f"{workers} worker(s): run {report.status.value}: {report.error}")
    store = Store.open(db, upgrade=False)
    with store.session() as session:
        items = int(session.scalar(select(func.count()).select_from(Candidate)) or 0)
    store.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()
    return Row(workers, items, wall, children_cpu() - before[0], sandbox_cpu, db_time, redis_cpu)


def render(rows: list[Row], args: argparse.Namespace) -> Table:
    cores = os.cpu_count() or 1
    base = rows[0].rate if rows else 0.0
    table = Table(
        "workers", "items", "wall s", "items/s", "speed-up", "worker CPU s", "CPU ms/item",
        "sandbox CPU s", "DB active s", "Redis CPU s", "ours of machine",
        title=f"distributed crawl: {args.items:,}-item sandbox, {args.platforms} shards "
        f"x <= {args.per_shard} items, {cores} cores",
    )  # fmt: skip
    for r in rows:
        busy = (r.worker_cpu + r.sandbox_cpu + r.db_seconds + r.redis_cpu) / (cores * r.wall)
        table.add_row(
            str(r.workers), f"{r.items:,}", f"{r.wall:.1f}", f"{r.rate:.1f}",
            f"{r.rate / base:.2f}x" if base else "-", f"{r.worker_cpu:.1f}",
            f"{1000 * r.worker_cpu / max(1, r.items):.1f}", f"{r.sandbox_cpu:.1f}",
            f"{r.db_seconds:.1f}", f"{r.redis_cpu:.2f}", f"{busy:.0%}",
        )  # fmt: skip
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000, help="sandbox size")
    parser.add_argument("--platforms", type=int, default=4, help="platforms = shards")
    parser.add_argument("--per-shard", type=int, default=100, help="candidates per shard")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    console = Console(width=150)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="rw-scale-") as tmp:
        root = Path(tmp)
        with start_sandbox(root / "sandbox", items=args.items) as sandbox:
            console.print(f"[dim]warm-up with {max(counts)} worker(s)…[/]")
            one_config(sandbox, max(counts), args, root, label="warmup")
            for count in counts:
                console.print(f"[dim]running with {count} worker(s)…[/]")
                rows.append(one_config(sandbox, count, args, root))
            console.print(render(rows, args))
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            console.print(f"load average at the end (1, 5, 15 min): {load}")


if __name__ == "__main__":
    main()

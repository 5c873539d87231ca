"""Review dashboard page times against the bare findings query, in one process.

    .venv/bin/python -m benchmarks.review [--findings 2000] [--repeat 20]

Fills a SQLite case file with ``--findings`` findings (two characters, two platforms, stored
media for each) through the test feeder, then times full requests through the ASGI app
(Starlette's test client: routing, guard, query, template, thumbnails) for the queue's first,
filtered and last pages, one finding page, and the runs page with its chart. The baseline is
``evidence.queries.findings.finding_rows(limit=25)``: the same ranking query the CLI runs,
without rendering. Medians in milliseconds and ratios to the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from starlette.testclient import TestClient

from evidence.queries.findings import finding_rows
from evidence.store import Store
from rightswatch.review.app import create_app
from rightswatch.review.settings import ReviewSettings
from tests.support.casefile import BASE_TIME, CaseFeeder


def median_ms(func: Callable[[], object], repeat: int) -> float:
    func()  # warm up (templates compiled, caches filled)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fill(feeder: CaseFeeder, count: int) -> int:
    hero, villain = feeder.character("Hero", references=2), feeder.character("Villain")
    civitai, hf = feeder.platform("civitai"), feeder.platform("huggingface")
    runs = [feeder.run(started_at=BASE_TIME + timedelta(days=d)) for d in range(10)]
    last = 0
    for i in range(count):
        last = feeder.finding(
            hero if i % 3 else villain,
            civitai if i % 2 else hf,
            title=f"fan art #{i}",
            score=round(0.5 + (i * 7919 % 500) / 1000, 3),
            creator=f"artist{i % 50}",
            created_at=BASE_TIME + timedelta(hours=i % 720),
            run_id=runs[i % 10],
        )
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rw-review-bench-") as tmp:
        base = Path(tmp)
        store = Store.open(f"sqlite:///{base / 'case.db'}")
        feeder = CaseFeeder(store, base / "case")
        start = time.perf_counter()
        some = fill(feeder, args.findings)
        filled = time.perf_counter() - start
        settings = ReviewSettings(
            store=store, evidence_root=feeder.evidence, reviewer="bench", secret=b"bench"
        )
        pages = args.findings // 25 + 1
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as tc:
            cases: list[tuple[str, Callable[[], object]]] = [
                ("baseline: finding_rows(limit=25)", lambda: finding_rows(store, limit=25)),
                ("queue, first page", lambda: tc.get("/")),
                (
                    "queue, filtered (character+platform+status+dates)",
                    lambda: tc.get(
                        "/?character=Hero&platform=civitai&status=new"
                        "&since=2026-11-25&until=2026-12-10"
                    ),
                ),
                (f"queue, last page ({pages})", lambda: tc.get(f"/?page={pages}")),
                ("finding page", lambda: tc.get(f"/findings/{some}")),
                ("runs page with chart", lambda: tc.get("/runs")),
            ]
            for name, func in cases[1:]:
                response = func()
                assert getattr(response, "status_code", 200) == 200, name
            results = [(name, median_ms(func, args.repeat)) for name, func in cases]
        store.dispose()
    baseline = results[0][1]
    table = Table(
        "request", "median ms", "× baseline", title=f"review dashboard, {args.findings} findings"
    )
    for name, ms in results:
        table.add_row(name, f"{ms:.1f}", f"{ms / baseline:.1f}")
    console = Console()
    console.print(table)
    console.print(f"case file filled in {filled:.1f} s; {args.repeat} timed requests each")


if __name__ == "__main__":
    main()

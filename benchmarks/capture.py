"""Evidence capture speed: a full sealed capture vs a bare full-page screenshot.

    .venv/bin/python -m benchmarks.capture [--pages 6] [--settle-ms 200]

Same Chromium, same pages, same run: a local JavaScript page site and a local RFC 3161 TSA
(openssl ts -reply) on 127.0.0.1. Reports seconds per capture split by stage, captures per
minute sequentially and with 2 and 4 concurrent contexts, the ratio to the bare
``page.screenshot(full_page=True)`` baseline (goal <= 2x), and peak RSS of this process plus
its children (Playwright driver and Chromium), sampled from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from playwright.async_api import Browser
from rich.console import Console
from rich.table import Table

from evidence.capture import CaptureJob, CaptureOptions, capture
from evidence.capture.browser import launch_browser, new_context
from evidence.capture.job import _settle
from evidence.seal import SealConfig
from evidence.signing import Signer, generate_keypair
from evidence.timestamp import TsaSpec, timestamper_for
from tests.support.guard import allow
from tests.support.local_tsa import local_tsa
from tests.support.pages import serve_pages


class RssSampler:
    """Peak resident memory of this process and all its descendants."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        todo, seen = [os.getpid()], []
        while todo:
            pid = todo.pop()
            seen.append(pid)
            todo.extend(children.get(pid, []))
        return seen

    def _rss(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return 0
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(self._rss(p) for p in self._tree()))
            self._stop.wait(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def bare_screenshot(browser: Browser, url: str, options: CaptureOptions) -> float:
    start = time.perf_counter()
    context = await new_context(browser, options)
    try:
        page = await context.new_page()
        await page.goto(url, wait_until="load")
        await _settle(page, options)
        await page.screenshot(full_page=True)
    finally:
        await context.close()
    return time.perf_counter() - start


async def full_capture(
    browser: Browser, url: str, root: Path, options: CaptureOptions, sealing: SealConfig
) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    result = await capture(browser, CaptureJob(url, root, options, sealing))
    if not result.sealed:
        raise RuntimeError(f"{url}: capture not sealed: {result.message}")
    return time.perf_counter() - start, dict(result.stages)


async def run(pages: int, settle_ms: int, work: Path) -> None:
    console = Console()
    options = CaptureOptions(operator="benchmark", settle_ms=settle_ms)
    pair = generate_keypair(work / "k.pem", work / "k.pub.pem")
    with serve_pages() as site, local_tsa(work / "tsa") as tsa, RssSampler() as rss:
        sealing = SealConfig(Signer.from_file(pair.private_path),
                             (timestamper_for(TsaSpec(tsa.url, tsa.ca_pem)),))  # fmt: skip
        options = allow(site.url, options)  # the local page site is a configured platform
        urls = [f"{site.url}/js" if i % 2 == 0 else f"{site.url}/item/b{i}" for i in range(pages)]
        async with launch_browser() as browser:
            await bare_screenshot(browser, urls[0], options)  # warm-up
            await full_capture(browser, urls[0], work / "warm", options, sealing)
            bare = [await bare_screenshot(browser, u, options) for u in urls]
            full, stages = [], []
            start = time.perf_counter()
            for u in urls:
                seconds, stage = await full_capture(browser, u, work / "seq", options, sealing)
                full.append(seconds)
                stages.append(stage)
            sequential = time.perf_counter() - start
            concurrent = {}
            for width in (2, 4):
                start = time.perf_counter()
                for i in range(0, len(urls), width):
                    await asyncio.gather(*[
                        full_capture(browser, u, work / f"c{width}", options, sealing)
                        for u in urls[i : i + width]
                    ])  # fmt: skip
                concurrent[width] = time.perf_counter() - start
    bare_mean, full_mean = statistics.mean(bare), statistics.mean(full)
    table = Table(title=f"Evidence capture, {pages} pages, settle {settle_ms} ms")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("bare page.screenshot(full_page) s/page", f"{bare_mean:.3f}")
    table.add_row("full sealed capture s/page", f"{full_mean:.3f}")
    table.add_row("ratio full / bare (goal <= 2.0)", f"{full_mean / bare_mean:.2f}")
    for name in stages[0]:
        table.add_row(f"  stage {name} s", f"{statistics.mean(s.get(name, 0) for s in stages):.3f}")
    table.add_row("captures/min sequential", f"{60 * pages / sequential:.1f}")
    for width, seconds in concurrent.items():
        table.add_row(f"captures/min, {width} concurrent contexts", f"{60 * pages / seconds:.1f}")
    table.add_row("peak RSS (process + Chromium) MiB", f"{rss.peak_kb / 1024:.0f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--settle-ms", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rw-bench-") as tmp:
        asyncio.run(run(args.pages, args.settle_ms, Path(tmp)))


if __name__ == "__main__":
    main()

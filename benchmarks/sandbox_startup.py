"""Start-up and serving speed of the sandbox, against baselines measured in the same run.

1. Start-up: seconds from spawning ``python -m sandbox serve`` to the URL line and to the first
   200 answer, for the default world (300 items) and a 20,000-item world; the baseline is a
   bare ``python -c "import uvicorn, starlette, PIL, cryptography"`` (the import floor).
2. Serving: 200 concurrent API requests (httpx async, 50 connections), requests per second.
3. Media: images served cold (rendered, encoded, cached) vs warm (read from the disk cache).
4. Civitai ``by-hash`` lookup in the 20,000-item world: first call (builds the hash index)
   vs later calls.

    .venv/bin/python benchmarks/sandbox_startup.py            # about a minute
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import start_sandbox  # noqa: E402


def table(header: list[str], rows: list[list[object]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    print()


def import_floor() -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import uvicorn, starlette, PIL.Image, cryptography.x509"],
        check=True,
    )
    return time.monotonic() - started


def start_once(items: int, state: Path) -> tuple[float, float]:
    command = [sys.executable, "-m", "sandbox", "serve", "--items", str(items)]
    command += ["--state-dir", str(state)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        line = time.monotonic() - started
        httpx.get(f"{url}/api/v1/models?limit=1", timeout=60).raise_for_status()
        first = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    return line, first


async def concurrent(url: str, count: int) -> float:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.get("/api/v1/models", params={"limit": 5, "n": n}) for n in range(count))
        )
        elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in responses)
    return count / elapsed


def main() -> None:
    runs = 3
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch)
        floor = statistics.median(import_floor() for _ in range(runs))
        rows: list[list[object]] = [["import floor (baseline)", floor, "", 1.0]]
        for items in (300, 20_000):
            timings = [start_once(items, state / str(items)) for _ in range(runs)]
            line = statistics.median(t[0] for t in timings)
            first = statistics.median(t[1] for t in timings)
            rows.append([f"sandbox --items {items}", line, first, line / floor])
        print(f"Start-up, median of {runs} runs, seconds")
        table(["what", "to URL line", "to first 200", "URL line / floor"], rows)

        # serving speed, not realism: no 503s on Civitai's image listings (--civitai-busy)
        with start_sandbox(state / "serve", items=20_000, extra=("--civitai-busy", "0")) as server:
            rate = asyncio.run(concurrent(server.url, 200))
            with httpx.Client(base_url=server.url, timeout=60) as client:
                images = client.get("/api/v1/images?limit=20").json()["items"]
                cold_started = time.monotonic()
                for image in images:
                    client.get(image["url"]).raise_for_status()
                cold = (time.monotonic() - cold_started) / len(images)
                warm_started = time.monotonic()
                for image in images:
                    client.get(image["url"]).raise_for_status()
                warm = (time.monotonic() - warm_started) / len(images)
                model = client.get("/api/v1/models?limit=1").json()["items"][0]
                digest = model["modelVersions"][0]["files"][0]["hashes"]["SHA256"]
                lookup = f"/api/v1/model-versions/by-hash/{digest}"
                first_started = time.monotonic()
                client.get(lookup).raise_for_status()
                first_lookup = time.monotonic() - first_started
                later_started = time.monotonic()
                for _ in range(10):
                    client.get(lookup).raise_for_status()
                later_lookup = (time.monotonic() - later_started) / 10
        print("Serving a 20,000-item world")
        table(
            ["measure", "value", "baseline", "ratio"],
            [
                ["200 concurrent /api/v1/models?limit=5, requests/s", rate, "", ""],
                ["image GET cold vs warm cache, s/image", cold, warm, cold / warm],
                [
                    "by-hash first (index build) vs later, s",
                    first_lookup,
                    later_lookup,
                    first_lookup / later_lookup,
                ],
            ],
        )


if __name__ == "__main__":
    main()

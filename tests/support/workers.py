"""Pytest support: ``rightswatch worker`` processes on the test Redis namespace.

``worker_factory(output_dir, config, database_url, queues="crawl")`` starts one worker as a
separate process (its logs go to ``output_dir/worker.log``) with the test's message secret and
case file in its environment, as an operator would start it; every worker it started is stopped
when the test ends. ``crawl_config`` writes a small watch.toml for one Civitai-shaped platform.
Workers count a silent peer as dead after 3 s and run the requeue pass on every Redis command,
so a killed worker's tasks come back within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import RedisSpace

REPO_ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_TIMEOUT_S = 3
WORKER_SECRET = "test-worker-secret-0123456789abcdef-not-for-production"


def crawl_config(
    path: Path, url: str, terms: tuple[str, ...], *, delay: float = 0.0, recent_pages: int = 50
) -> Path:
    """A watch.toml crawling the sandbox's Civitai API at ``url`` for ``terms``."""
    toml_terms = ", ".join(f'"{t}"' for t in terms)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""[client]
name = "Studio"

[[characters]]
name = "{terms[0]}"

[[platforms]]
name = "civitai"
kind = "civitai"
base_url = "{url}"
search_terms = [{toml_terms}]
recent_pages = {recent_pages}

[platforms.politeness]
concurrency = 2
delay_seconds = {delay}
autothrottle = false
obey_robots_txt = false

[evidence]
folder = "evidence"
""",
        encoding="utf-8",
    )
    return path


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    output_dir: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return (self.output_dir / "worker.log").read_text(encoding="utf-8", errors="replace")

    def started_shards(self) -> list[Path]:
        """The shard folders this worker created (one per attempt)."""
        return sorted(self.output_dir.glob("run-*/shards/*/plan.json"))

    def wait_until_consuming(self, timeout_s: float = 60) -> None:
        """Return once the worker consumes its queues (bounded wait; fails with its log)."""
        deadline = time.monotonic() + timeout_s
        while "worker consuming" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


WorkerFactory = Callable[..., WorkerProcess]


@pytest.fixture
def worker_factory(redis_space: RedisSpace) -> Iterator[WorkerFactory]:
    started: list[WorkerProcess] = []

    def factory(
        output_dir: Path, config: Path, database_url: str, queues: str = "crawl"
    ) -> WorkerProcess:
        output_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "rightswatch", "worker", "--queues", queues]
        command += ["--threads", "1", "--output", str(output_dir)]
        command += ["--heartbeat-timeout", str(HEARTBEAT_TIMEOUT_S)]
        command += ["--maintenance-per-million", "1000000", "--config", str(config)]
        env = {
            **os.environ,
            "RIGHTSWATCH_REDIS_URL": redis_space.url,
            "RIGHTSWATCH_REDIS_NAMESPACE": redis_space.namespace,
            "RIGHTSWATCH_WORKER_SECRET": WORKER_SECRET,
            "RIGHTSWATCH_DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1",
        }
        with (output_dir / "worker.log").open("ab") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
            )
        worker = WorkerProcess(process, output_dir)
        started.append(worker)
        return worker

    try:
        yield factory
    finally:
        for worker in started:
            worker.stop()

"""Pytest support: ``rightswatch worker`` processes on the test Redis namespace.

``worker_factory(output_dir, queues="crawl")`` starts one worker as a separate process (its
logs go to ``output_dir/worker.log``); every worker it started is stopped when the test ends.
Workers count a silent peer as dead after 3 s and run the requeue pass on every Redis command,
so a killed worker's tasks come back within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import RedisSpace

REPO_ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_TIMEOUT_S = 3


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
        output_dir: Path, queues: str = "crawl", config: Path | None = None
    ) -> WorkerProcess:
        output_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "rightswatch", "worker", "--queues", queues]
        command += ["--threads", "1", "--output", str(output_dir)]
        command += ["--heartbeat-timeout", str(HEARTBEAT_TIMEOUT_S)]
        command += ["--maintenance-per-million", "1000000"]
        if config is not None:
            command += ["--config", str(config)]
        env = {
            **os.environ,
            "RIGHTSWATCH_REDIS_URL": redis_space.url,
            "RIGHTSWATCH_REDIS_NAMESPACE": redis_space.namespace,
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

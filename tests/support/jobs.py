"""Job functions the scheduler tests name by textual reference."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import scheduler


def record(path: str) -> None:
    """Append the current time to ``path``."""
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(datetime.now(UTC).isoformat() + "\n")


def slow_record(path: str, seconds: float) -> None:
    """Record a start, work until done or asked to stop, then record how it ended."""
    record(path)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not scheduler.stop_requested():
        time.sleep(0.05)
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write("stopped\n" if scheduler.stop_requested() else "finished\n")

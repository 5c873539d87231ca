"""The crawl child holds OpenMP to one thread before the likeness libraries load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import crawler.child
import crawler.crawl


def _run_child(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str | None:
    seen: dict[str, str | None] = {}

    def crawl(plan: object, report: Path) -> None:
        seen["omp"] = os.environ.get("OMP_NUM_THREADS")

    monkeypatch.setattr(crawler.child, "crawl_in_this_process", crawl)
    monkeypatch.setattr(crawler.crawl.CrawlPlan, "from_json", classmethod(lambda cls, text: None))
    plan = tmp_path / "plan.json"
    plan.write_text("{}", encoding="utf-8")
    assert crawler.crawl.main([str(plan), str(tmp_path / "report.json")]) == 0
    return seen["omp"]


def test_openmp_is_held_to_one_thread(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert _run_child(monkeypatch, tmp_path) == "1"


def test_an_operators_setting_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert _run_child(monkeypatch, tmp_path) == "4"

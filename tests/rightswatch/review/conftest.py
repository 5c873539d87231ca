"""Fixtures for the review dashboard: a fed case file, settings, and a signed-in test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evidence.store import Store
from rightswatch.review.app import create_app
from rightswatch.review.settings import ReviewSettings
from tests.rightswatch.review.helpers import WATCH_TOML
from tests.support.casefile import CaseFeeder, Sample, sample


@pytest.fixture
def case_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'case.db'}")
    yield store
    store.dispose()


@pytest.fixture
def feeder(case_store: Store, tmp_path: Path) -> CaseFeeder:
    return CaseFeeder(case_store, tmp_path / "case")


@pytest.fixture
def fed(feeder: CaseFeeder) -> Sample:
    return sample(feeder)


@pytest.fixture
def watch_toml(tmp_path: Path) -> Path:
    path = tmp_path / "watch.toml"
    path.write_text(WATCH_TOML, encoding="utf-8")
    return path


@pytest.fixture
def settings(feeder: CaseFeeder, watch_toml: Path) -> ReviewSettings:
    feeder.evidence.mkdir(parents=True, exist_ok=True)
    return ReviewSettings(
        store=feeder.store,
        evidence_root=feeder.evidence,
        config_path=watch_toml,
        reviewer="Test Reviewer",
        secret=b"test-secret",
    )


@pytest.fixture
def client(settings: ReviewSettings, fed: Sample) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8765") as tc:
        yield tc

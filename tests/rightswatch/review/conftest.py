"""Fixtures for the review dashboard: a fed case file, settings, and a signed-in test client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evidence.store import Store
from rightswatch.review.app import create_app
from rightswatch.review.settings import ReviewSettings
from tests.rightswatch.review.helpers import WATCH_TOML
from tests.support.casefile import CaseFeeder, Sample, sample


@dataclass(frozen=True)
class Template:
    folder: Path
    sample: Sample
    seed: int


@pytest.fixture(scope="session")
def review_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The sample case file, built once; each test works on its own copy."""
    base = tmp_path_factory.mktemp("review-case")
    store = Store.open(f"sqlite:///{base / 'case.db'}")
    feeder = CaseFeeder(store, base / "case")
    fed = sample(feeder)
    store.dispose()
    return Template(base, fed, feeder._seed)


@pytest.fixture
def case_store(tmp_path: Path, review_template: Template) -> Iterator[Store]:
    for name in ("case.db", "case.db-wal"):
        if (review_template.folder / name).exists():
            shutil.copyfile(review_template.folder / name, tmp_path / name)
    # media paths are relative to the evidence folder; references are shared, read only
    shutil.copytree(review_template.folder / "case" / "evidence", tmp_path / "case" / "evidence")
    store = Store.open(f"sqlite:///{tmp_path / 'case.db'}")
    yield store
    store.dispose()


@pytest.fixture
def feeder(case_store: Store, tmp_path: Path, review_template: Template) -> CaseFeeder:
    return CaseFeeder(case_store, tmp_path / "case", _seed=review_template.seed)


@pytest.fixture
def fed(review_template: Template, case_store: Store) -> Sample:
    return review_template.sample


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

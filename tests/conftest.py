"""Shared fixtures. The store suite runs on SQLite and, when RIGHTSWATCH_TEST_POSTGRES_URL is
set (``make test`` sets it when the local server answers), on PostgreSQL too."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from evidence.models import Base
from evidence.store import Store

pytest_plugins = ["tests.support.sandbox", "tests.support.postgres", "tests.support.workers"]

POSTGRES_ENV = "RIGHTSWATCH_TEST_POSTGRES_URL"


def _backends() -> list[str]:
    backends = ["sqlite"]
    if os.environ.get(POSTGRES_ENV):
        backends.append("postgresql")
    elif os.environ.get("CI") == "true":
        raise RuntimeError(
            f"CI=true but {POSTGRES_ENV} is not set: the PostgreSQL suite would not run"
        )
    return backends


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway database on the test server, dropped at the end of the session."""
    base = os.environ[POSTGRES_ENV]
    name = f"rw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_backends())
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'case.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An empty, migrated case file."""
    st = Store.open(store_url)
    yield st
    if st.engine.dialect.name == "postgresql":
        with st.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    st.dispose()

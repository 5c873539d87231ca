"""Pytest support: real PostgreSQL and Redis servers for the distributed-mode tests.

Both servers must answer (never skipped): PostgreSQL at $RIGHTSWATCH_TEST_POSTGRES_URL (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and Redis at $RIGHTSWATCH_TEST_REDIS_URL
(default ``redis://127.0.0.1:6379/15``, a database number kept for tests). Every test gets its
own throwaway PostgreSQL database and its own Redis key namespace, both removed afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

POSTGRES_ENV = "RIGHTSWATCH_TEST_POSTGRES_URL"
REDIS_ENV = "RIGHTSWATCH_TEST_REDIS_URL"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def _postgres_base() -> str:
    return os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    base = _postgres_base()
    name = f"rw_dist_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL is required at {base} ({POSTGRES_ENV}): {exc}")
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass(frozen=True)
class RedisSpace:
    """A Redis URL and a key namespace of this test's own."""

    url: str
    namespace: str
    client: redis.Redis

    def keys(self) -> list[str]:
        return [k.decode() for k in self.client.scan_iter(f"{self.namespace}*")]


@pytest.fixture
def redis_space() -> Iterator[RedisSpace]:
    url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required at {url} ({REDIS_ENV}): {exc}")
    space = RedisSpace(url=url, namespace=f"rwtest-{uuid.uuid4().hex[:10]}", client=client)
    yield space
    for key in client.scan_iter(f"{space.namespace}*"):
        client.delete(key)
    client.close()

"""The case-file store, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from evidence.exceptions import DatabaseUnavailable
from evidence.models import (
    Candidate,
    CandidateKind,
    Character,
    Client,
    CrawlRun,
    CustodyEvent,
    Decision,
    Finding,
    FindingStatus,
    Platform,
    PlatformKind,
    RunStatus,
)
from evidence.store import Store, redact, resolve_url


def _platform(session, name: str = "civitai") -> Platform:
    p = Platform(name=name, kind=PlatformKind.CIVITAI, base_url="https://civitai.com")
    session.add(p)
    session.flush()
    return p


def _candidate(platform: Platform, external_id: str, kind=CandidateKind.MODEL) -> Candidate:
    return Candidate(
        platform_id=platform.id,
        kind=kind,
        external_id=external_id,
        page_url=f"https://civitai.com/models/{external_id}",
    )


def test_migrations_create_every_table_and_record_head(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "client",
        "character",
        "reference_image",
        "platform",
        "crawl_run",
        "candidate",
        "finding",
        "capture",
        "custody_event",
        "notice",
        "lease",
        "alembic_version",
    } <= tables
    assert store.current_revision() == Store.head_revision()


def test_upgrade_is_idempotent(store_url: str) -> None:
    first = Store.open(store_url)
    first.dispose()
    second = Store.open(store_url)
    assert second.current_revision() == Store.head_revision()
    second.dispose()


def test_candidate_unique_per_platform_kind_and_id(store: Store) -> None:
    with store.session() as s:
        p = _platform(s)
        s.add(_candidate(p, "42", CandidateKind.MODEL))
        # the same id in the other namespace (an image 42) is a different item
        s.add(_candidate(p, "42", CandidateKind.IMAGE))
    with pytest.raises(IntegrityError), store.session() as s:
        p = s.scalar(select(Platform))
        s.add(_candidate(p, "42", CandidateKind.MODEL))


def test_times_come_back_aware_utc(store: Store) -> None:
    cst = timezone(timedelta(hours=8))
    moment = datetime(2026, 5, 1, 11, 30, tzinfo=cst)
    with store.session() as s:
        s.add(CrawlRun(started_at=moment, status=RunStatus.SUCCEEDED))
    with store.session() as s:
        run = s.scalar(select(CrawlRun))
        assert run is not None
        assert run.started_at.tzinfo is not None
        assert run.started_at.utcoffset() == timedelta(0)
        assert run.started_at == moment
        assert run.started_at.hour == 3


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), store.session() as s:
        s.add(CrawlRun(started_at=datetime(2026, 1, 1)))


def test_enums_are_stored_as_their_values(store: Store) -> None:
    with store.session() as s:
        s.add(CrawlRun(status=RunStatus.PARTIAL, started_at=datetime.now(UTC)))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM crawl_run")).scalar_one() == "partial"


def test_finding_links_candidate_and_character(store: Store) -> None:
    with store.session() as s:
        client = Client(name="Acme", matter="m-1")
        s.add(client)
        s.flush()
        char = Character(client_id=client.id, name="Hero", aliases={"zh": ["英雄"]})
        s.add(char)
        p = _platform(s)
        cand = _candidate(p, "7")
        s.add(cand)
        s.flush()
        s.add(
            Finding(
                candidate_id=cand.id,
                character_id=char.id,
                score=0.91,
                decision=Decision.FLAG,
                reasons=[{"signal": "pdq", "text": "distance 18"}],
            )
        )
    with store.session() as s:
        finding = s.scalar(select(Finding))
        assert finding is not None
        assert finding.status is FindingStatus.NEW
        assert finding.candidate.external_id == "7"
        assert finding.character.aliases == {"zh": ["英雄"]}
        assert finding.reasons[0]["text"] == "distance 18"
    with pytest.raises(IntegrityError), store.session() as s:
        finding = s.scalar(select(Finding))
        assert finding is not None
        s.add(
            Finding(
                candidate_id=finding.candidate_id,
                character_id=finding.character_id,
                score=0.5,
                decision=Decision.REVIEW,
            )
        )


def test_custody_entry_hashes_are_unique(store: Store) -> None:
    with store.session() as s:
        s.add(
            CustodyEvent(
                seq=1, event="captured", actor="a", prev_hash="0" * 64, entry_hash="a" * 64
            )
        )
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(
            CustodyEvent(seq=2, event="sealed", actor="a", prev_hash="a" * 64, entry_hash="a" * 64)
        )


def test_session_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.session() as s:
        s.add(Client(name="Gone"))
        s.flush()
        raise RuntimeError("boom")
    with store.session() as s:
        assert s.scalar(select(Client).where(Client.name == "Gone")) is None


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable) as info:
        Store.open("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    message = str(info.value)
    assert "127.0.0.1:1" in message
    assert "secret" not in message
    assert "\n" not in message


def test_not_a_url_is_one_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable, match="not a database URL"):
        Store.open("this is not a url")


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIGHTSWATCH_DATABASE_URL", raising=False)
    assert resolve_url(None, None).startswith("sqlite:///")
    assert resolve_url(None, "sqlite:///c.db") == "sqlite:///c.db"
    monkeypatch.setenv("RIGHTSWATCH_DATABASE_URL", "sqlite:///env.db")
    assert resolve_url(None, "sqlite:///c.db") == "sqlite:///env.db"
    assert resolve_url("sqlite:///x.db", "sqlite:///c.db") == "sqlite:///x.db"
    assert "***" in redact("postgresql://u:pw@h/db")

"""Captures in distributed mode: one final capture per finding and time slot, enforced by the
case file, whichever worker gets the task and however often it is delivered."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evidence.capture import CaptureOutcome, CaptureResult
from evidence.exceptions import EvidenceError
from evidence.models import (
    Candidate,
    CandidateKind,
    Capture,
    CaptureStatus,
    Character,
    Client,
    Decision,
    Finding,
    Platform,
    PlatformKind,
)
from evidence.settings import EvidenceSettings
from evidence.signing import generate_keypair
from evidence.store import Store
from rightswatch.distributed import run_distributed_captures
from rightswatch.distributed.broker import connect
from rightswatch.distributed.captures import capture_in_slot, slot_key
from sandbox.client import write_client
from tests.support.postgres import RedisSpace
from tests.support.sandbox import SandboxServer
from tests.support.workers import WORKER_SECRET, WorkerFactory

SECRET = WORKER_SECRET.encode()


def _seed(store: Store, page_url: str) -> int:
    with store.session() as s:
        client = Client(name="Studio")
        s.add(client)
        s.flush()
        character = Character(client_id=client.id, name="Pipera")
        platform = Platform(name="civitai", kind=PlatformKind.CIVITAI, base_url=page_url)
        s.add_all([character, platform])
        s.flush()
        candidate = Candidate(
            platform_id=platform.id, kind=CandidateKind.IMAGE, external_id="1", page_url=page_url
        )
        s.add(candidate)
        s.flush()
        finding = Finding(
            candidate_id=candidate.id, character_id=character.id, score=0.9, decision=Decision.FLAG
        )
        s.add(finding)
        s.flush()
        return finding.id


def test_the_case_file_refuses_a_second_capture_in_a_slot(pg_url: str) -> None:
    store = Store.open(pg_url)
    fid = _seed(store, "http://127.0.0.1:9/page")
    key = slot_key(fid, "2026-12-01T00")
    with store.session() as s:
        s.add(Capture(finding_id=fid, url="u", status=CaptureStatus.SEALED, idempotency_key=key))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(Capture(finding_id=fid, url="u", idempotency_key=key))
    with store.session() as s:  # captures without a key never conflict
        s.add_all([Capture(finding_id=fid, url="u"), Capture(finding_id=fid, url="u")])
    store.dispose()


def test_a_sealed_slot_is_answered_without_capturing(pg_url: str, tmp_path: Path) -> None:
    store = Store.open(pg_url)
    fid = _seed(store, "http://127.0.0.1:9/page")
    key = slot_key(fid, "s1")
    with store.session() as s:
        s.add(
            Capture(
                finding_id=fid,
                url="http://127.0.0.1:9/page",
                status=CaptureStatus.SEALED,
                idempotency_key=key,
                manifest_sha256="ab" * 32,
                bundle_path=str(tmp_path / "c1"),
                meta={"capture_id": "c1", "outcome": "sealed", "seal": {"timestamps": 1}},
            )
        )
    # no browser exists at this path: a capture attempt would fail
    settings = EvidenceSettings(
        folder=tmp_path / "ev",
        signing_key=tmp_path / "none.key",
        tsa_urls=(),
        chromium_path=str(tmp_path / "no-chromium"),
    )
    result = capture_in_slot(store, fid, "s1", settings)
    assert result.capture_id == "c1" and result.outcome is CaptureOutcome.SEALED
    assert result.manifest_sha256 == "ab" * 32 and result.directory == tmp_path / "c1"
    with store.session() as s:
        assert len(s.scalars(select(Capture)).all()) == 1
    store.dispose()


def test_a_dead_workers_pending_capture_gives_up_its_slot(pg_url: str, tmp_path: Path) -> None:
    store = Store.open(pg_url)
    fid = _seed(store, "http://127.0.0.1:9/page")
    key = slot_key(fid, "s1")
    with store.session() as s:
        row = Capture(finding_id=fid, url="u", status=CaptureStatus.PENDING, idempotency_key=key)
        s.add(row)
        s.flush()
        pending = row.id
    settings = EvidenceSettings(
        folder=tmp_path / "ev",
        signing_key=tmp_path / "none.key",
        tsa_urls=(),
        chromium_path=str(tmp_path / "no-chromium"),
    )
    with pytest.raises(EvidenceError):  # the new try cannot sign or start a browser here...
        capture_in_slot(store, fid, "s1", settings)
    with store.session() as s:  # ...but the abandoned row no longer holds the slot
        old = s.get(Capture, pending)
        assert old is not None and old.status is CaptureStatus.FAILED
        assert old.idempotency_key is None and old.meta["released_key"] == key
        assert "abandoned" in (old.error or "")
    store.dispose()


@pytest.fixture
def worker_config(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """A watch.toml for the sandbox (its TSA, an operator key) shared by the workers."""
    root = tmp_path / "client"
    write_client(sandbox.url, root)
    key = root / "rightswatch-data" / "keys" / "operator.key"
    generate_keypair(key, key.with_name("operator.pub.pem"))
    return root / "watch.toml"


def test_concurrent_deliveries_seal_one_capture_per_slot(
    sandbox: SandboxServer,
    pg_url: str,
    redis_space: RedisSpace,
    worker_factory: WorkerFactory,
    worker_config: Path,
    tmp_path: Path,
) -> None:
    page = next(t["url"] for t in sandbox.truth() if t["platform"] == "civitai")
    store = Store.open(pg_url)
    fid = _seed(store, str(page))
    for n in (1, 2):
        worker_factory(tmp_path / f"w{n}", worker_config, pg_url, queues="capture")
    conn = connect(redis_space.url, namespace=redis_space.namespace)
    results: list[list[CaptureResult]] = []

    def deliver() -> None:  # the same task twice at once, as a redelivery would do
        results.append(
            run_distributed_captures(
                store, [fid], slot="s1", timeout_s=150, connection=conn, secret=SECRET
            )
        )

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    first, second = results[0][0], results[1][0]
    assert first.outcome is CaptureOutcome.SEALED, first.message
    assert replace(second, stages={}) == replace(first, stages={})  # the same capture
    again = run_distributed_captures(
        store, [fid], slot="s1", timeout_s=60, connection=conn, secret=SECRET
    )[0]
    assert again.capture_id == first.capture_id
    with store.session() as s:
        rows = s.scalars(select(Capture).where(Capture.finding_id == fid)).all()
        sealed = [r for r in rows if r.status is CaptureStatus.SEALED]
        assert len(sealed) == 1 and sealed[0].idempotency_key == slot_key(fid, "s1")
        assert len(rows) == 1
    conn.close()
    store.dispose()

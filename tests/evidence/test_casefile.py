"""Captures of findings in the case file, follow-ups, custody and notices."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from evidence import ledger
from evidence.capture import CaptureOptions, CaptureOutcome
from evidence.casefile import capture_findings_async, recapture
from evidence.custody import GENESIS, chain_problems
from evidence.exceptions import NoticeError
from evidence.models import Capture, CaptureKind, CaptureStatus, Finding, FindingStatus, Notice
from evidence.notice import draft_notice
from evidence.settings import EvidenceSettings
from evidence.store import Store
from tests.support.casefile import seed_finding
from tests.support.guard import allow

OPTIONS = CaptureOptions(operator="Test Operator", settle_ms=100)


@pytest.fixture
def settings(tmp_path, tsa, keypair) -> EvidenceSettings:
    return EvidenceSettings(
        folder=tmp_path / "evidence",
        signing_key=keypair[0],
        tsa_urls=(tsa.url,),
        operator="Test Operator",
        extra_ca={tsa.url: tsa.ca_pem},
    )


@pytest.fixture
def db(store: Store) -> Store:
    """The shared case-file fixture: SQLite, and PostgreSQL when the test server is up."""
    return store


def test_capture_recheck_removal_custody_and_notice(db, settings, site, tmp_path, chromium):
    name = f"fox-{uuid.uuid4().hex[:8]}"  # the site is shared: one item per test run
    fid = seed_finding(db, site.url, name, tmp_path / "refs")
    # the first capture shares the module's browser; the recheck launches its own (sync API)
    first = chromium.run(
        capture_findings_async(
            db, [fid], settings, allow(site.url, OPTIONS), browser=chromium.browser
        )
    )[0]
    assert first.outcome is CaptureOutcome.SEALED, first.message
    with pytest.raises(NoticeError, match="must confirm"):
        draft_notice(db, fid, "dmca", settings)
    with db.session() as s:
        s.get(Finding, fid).status = FindingStatus.CONFIRMED
    result = draft_notice(db, fid, "civil-code-1195", settings, recipient="abuse@example")
    assert result.path.is_file()
    assert "民法典" in result.text and first.manifest_sha256 in result.text
    assert "resembles" in result.text and "infringes " not in result.text
    site.remove(name)
    second = recapture(db, fid, settings, allow(site.url, OPTIONS))
    assert second.outcome is CaptureOutcome.REMOVED and second.status == 404
    with db.session() as s:
        finding = s.get(Finding, fid)
        assert finding.status is FindingStatus.REMOVED
        rows = s.scalars(
            select(Capture).where(Capture.finding_id == fid).order_by(Capture.id)
        ).all()
        assert [r.status for r in rows] == [CaptureStatus.SEALED, CaptureStatus.REMOVED]
        assert rows[1].kind is CaptureKind.RECHECK and rows[1].previous_id == rows[0].id
        assert rows[0].timestamps and rows[0].manifest_sha256 == first.manifest_sha256
        assert s.scalars(select(Notice)).one().sha256 == result.sha256
        entries = ledger.chain(s, finding_id=fid)
    actions = [e.action.value for e in entries]
    assert actions == ["captured", "sealed", "noticed", "captured", "sealed", "rechecked"]
    assert entries[0].prev == GENESIS
    assert chain_problems(entries, source="db") == []


def test_notice_needs_sealed_evidence(db, settings, site, tmp_path):
    fid = seed_finding(db, site.url, "fox2", tmp_path / "refs", status=FindingStatus.CONFIRMED)
    with pytest.raises(NoticeError, match="no sealed capture"):
        draft_notice(db, fid, "dmca", settings)


def test_export_refuses_unknown_or_uncaptured_findings(db, settings, site, tmp_path):
    from evidence.bundle import export_bundle
    from evidence.exceptions import BundleError, NotFound

    with pytest.raises(NotFound, match="no finding with id 999"):
        export_bundle(db, [999], str(tmp_path / "x.zip"), settings)
    fid = seed_finding(db, site.url, f"fox-{uuid.uuid4().hex[:8]}", tmp_path / "refs")
    with pytest.raises(BundleError, match=f"finding {fid}: no sealed capture"):
        export_bundle(db, [fid], str(tmp_path / "x.zip"), settings)
    with db.session() as s:
        assert ledger.chain(s, finding_id=fid) == []  # nothing recorded for a refused export
    assert not (tmp_path / "x.zip").exists()


def test_decisions_and_verifications_enter_the_custody_chain(db, site, tmp_path):
    from evidence.casefile import record_decision, record_verification
    from evidence.exceptions import DecisionError
    from evidence.verify import Check, VerifyReport

    fid = seed_finding(db, site.url, f"fox-{uuid.uuid4().hex[:8]}", tmp_path / "refs")
    record_decision(db, fid, FindingStatus.CONFIRMED, reviewer="Jane Doe", reason="clear match")
    with pytest.raises(DecisionError, match="not by review"):
        record_decision(db, fid, FindingStatus.NOTICED, reviewer="Jane Doe")
    report = VerifyReport("case.zip", (Check("sha256", "VERIFY.md", False, "changed"),))
    record_verification(db, [fid], report, actor="Opposing Expert")
    with db.session() as s:
        finding = s.get(Finding, fid)
        assert finding.status is FindingStatus.CONFIRMED and finding.reviewer == "Jane Doe"
        entries = ledger.chain(s, finding_id=fid)
    assert [e.action.value for e in entries] == ["decided", "verified"]
    assert entries[0].details == {"from": "new", "to": "confirmed", "reason": "clear match"}
    assert entries[1].details["ok"] is False
    assert entries[1].details["problems"] == ["sha256: VERIFY.md"]
    assert chain_problems(entries, source="db") == []

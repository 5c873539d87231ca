"""A case folder copied elsewhere still verifies, exports and shows its captures."""

from __future__ import annotations

import shutil
from pathlib import Path

from evidence.capture import CaptureOptions
from evidence.casefile import capture_findings_async
from evidence.models import Candidate, Capture, CustodyEvent
from evidence.paths import resolve_stored, stored_path
from evidence.settings import EvidenceSettings
from evidence.store import Store
from evidence.trust import TrustAnchors
from evidence.verify import verify_bundle
from rightswatch.review.media import candidate_thumbnail, capture_files
from tests.support.casefile import seed_finding
from tests.support.guard import allow, local_guard


def _settings(folder: Path, keypair, tsa, site_url: str) -> EvidenceSettings:  # type: ignore[no-untyped-def]
    return EvidenceSettings(
        folder=folder, signing_key=keypair[0], tsa_urls=(tsa.url,), operator="Test Operator",
        extra_ca={tsa.url: tsa.ca_pem}, capture_guard=local_guard(site_url),
    )  # fmt: skip


def test_copied_case_folder_exports_verifies_and_displays(tmp_path, keypair, tsa, site, chromium):
    from evidence.bundle import export_bundle

    first = tmp_path / "office" / "case"
    store = Store.open(f"sqlite:///{first / 'case.db'}")
    fid = seed_finding(store, site.url, "portable1", first / "refs")
    options = allow(site.url, CaptureOptions(operator="Test Operator", settle_ms=100))
    settings = _settings(first / "evidence", keypair, tsa, site.url)
    result = chromium.run(
        capture_findings_async(store, [fid], settings, options, browser=chromium.browser)
    )[0]
    assert result.sealed, result.message
    with store.session() as s:
        row = s.query(Capture).one()
        assert row.bundle_path == f"captures/{result.capture_id}"  # relative, not /tmp/…
        sealed = [e for e in s.query(CustodyEvent) if e.event == "sealed"]
        assert sealed[0].details["directory"] == row.bundle_path
    store.dispose()

    moved = tmp_path / "court" / "case"
    shutil.copytree(first, moved)
    shutil.rmtree(first)  # nothing may still point at the old place
    store = Store.open(f"sqlite:///{moved / 'case.db'}")
    settings = _settings(moved / "evidence", keypair, tsa, site.url)
    out = tmp_path / "copied.zip"
    export_bundle(store, [fid], str(out), settings, report=False)
    trust = TrustAnchors(settings.sealing().signer.fingerprint, (tsa.ca_pem,))
    report = verify_bundle(out, trust=trust)
    assert report.ok and report.anchored, report.problems
    root = (moved / "evidence").resolve()
    with store.session() as s:
        capture = s.query(Capture).one()
        files = capture_files(capture, root)
        assert files.bundle == f"captures/{result.capture_id}"
        assert files.screenshots and files.media
        candidate = s.query(Candidate).one()
        assert candidate_thumbnail(candidate, [capture], root) == files.media[0]
    store.dispose()


def test_old_absolute_paths_are_found_under_the_moved_folder(tmp_path):
    root = tmp_path / "new" / "evidence"
    (root / "captures" / "c1").mkdir(parents=True)
    old = "/srv/old-office/evidence/captures/c1"
    assert resolve_stored(old, root) == root / "captures" / "c1"
    assert resolve_stored("captures/c1", root) == root / "captures" / "c1"
    assert stored_path(root / "captures" / "c1", root) == "captures/c1"
    assert stored_path(tmp_path / "elsewhere", root) == str((tmp_path / "elsewhere").resolve())
    refused = resolve_stored("../../etc/passwd", root)
    assert refused.resolve().is_relative_to(root.resolve()) and not refused.exists()

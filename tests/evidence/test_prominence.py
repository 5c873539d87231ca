"""Prominence: the listing where the item was shown, sealed, the item framed, exported."""

from __future__ import annotations

import io
import json
import zipfile

from PIL import Image

from evidence.casefile import capture_findings
from evidence.models import Capture, Finding
from evidence.prominence import capture_placement
from evidence.settings import EvidenceSettings
from evidence.verify import verify_bundle
from tests.support.casefile import seed_finding
from tests.support.guard import local_guard


def test_listing_is_sealed_with_the_item_framed_and_exported(store, tmp_path, tsa, keypair, site):
    from evidence.bundle import export_bundle

    settings = EvidenceSettings(
        folder=tmp_path / "evidence", signing_key=keypair[0], tsa_urls=(tsa.url,),
        operator="Test Operator", extra_ca={tsa.url: tsa.ca_pem},
        capture_guard=local_guard(site.url),
    )  # fmt: skip
    fid = seed_finding(store, site.url, "prominent1", tmp_path / "refs")
    assert capture_findings(store, [fid], settings)[0].sealed
    listing = capture_placement(store, fid, settings)
    assert listing is not None and listing.sealed, listing
    assert listing.directory is not None
    meta = json.loads((listing.directory / "metadata.json").read_text())
    assert meta["highlight"]["found"] and meta["subject"]["rank"] == 3
    x, y, _w, h = meta["highlight"]["box"]
    raw = Image.open(io.BytesIO((listing.directory / "screenshot-full.png").read_bytes()))
    marked = Image.open(io.BytesIO((listing.directory / "screenshot-annotated.png").read_bytes()))
    banner = marked.height - raw.height
    assert banner > 0
    # a red frame around the third card's link, nothing drawn on the raw screenshot
    assert marked.convert("RGB").getpixel((x - 2, y + banner + h // 2)) == (220, 0, 0)
    assert raw.convert("RGB").getpixel((x - 2, y + h // 2)) != (220, 0, 0)
    with store.session() as s:
        row = s.get(Capture, _row(s, listing.capture_id))
        assert row is not None and row.finding_id is None and row.meta["placement_of"] == fid
        finding = s.get(Finding, fid)
        assert finding is not None and len(finding.captures) == 1  # rechecks never see it
    out = tmp_path / "case.zip"
    export_bundle(store, [fid], str(out), settings)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        html = z.read(f"findings/{fid}/report.html").decode()
    assert f"findings/{fid}/placement/{listing.capture_id}/screenshot-annotated.png" in names
    assert "Prominence" in html and "home page at position 3" in html
    assert verify_bundle(out).ok


def _row(session, capture_id: str) -> int:  # type: ignore[no-untyped-def]
    for row in session.query(Capture):
        if row.meta.get("capture_id") == capture_id:
            return int(row.id)
    raise AssertionError(capture_id)

from __future__ import annotations

import json
import subprocess

from evidence.capture import CaptureJob, CaptureOptions, CaptureOutcome, FailureReason
from evidence.seal import is_sealed, read_manifest
from evidence.verify import verify_bundle
from tests.support.guard import allow

OPTIONS = CaptureOptions(operator="Test Operator", settle_ms=100)


def test_js_page_captured_sealed_and_verifiable(tmp_path, chromium, site, sealing):
    media_url = f"{site.url}/media/moonfox.png"
    options = CaptureOptions(operator="Test Operator", settle_ms=100, media_urls=(media_url,))
    result = chromium.capture(
        CaptureJob(f"{site.url}/js", tmp_path, allow(site.url, options), sealing)
    )
    assert result.outcome is CaptureOutcome.SEALED, result.message
    root = result.directory
    assert root is not None and is_sealed(root)
    names = {f["path"] for f in read_manifest(root)["files"]}
    assert {
        "screenshot-full.png",
        "screenshot-viewport.png",
        "dom.html",
        "page.mhtml",
        "page.pdf",
        "traffic.warc.gz",
        "metadata.json",
        "text.txt",
        "media/01-moonfox.png",
        "public-key.pem",
    } <= names
    # JavaScript-rendered content is in the DOM and the text (and so in what was screenshotted).
    assert "Rendered by script: Moonfox 月狐" in (root / "dom.html").read_text()
    assert (root / "screenshot-full.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (root / "page.pdf").read_bytes()[:5] == b"%PDF-"
    assert (
        b"Rendered by script" in (root / "page.mhtml").read_bytes()
        or b"Rendered=20by" in (root / "page.mhtml").read_bytes()
    )
    meta = json.loads((root / "metadata.json").read_text())
    assert meta["status"] == 200 and meta["final_url"] == f"{site.url}/js"
    assert meta["server"]["ip"] == "127.0.0.1"
    assert meta["dns"]["addresses"] == ["127.0.0.1"]
    assert meta["tls"]["https"] is False and meta["tls"]["certificate_file"] is None
    assert meta["options"]["viewport"] == {"width": 1366, "height": 900}
    assert meta["environment"]["browser"].startswith("Chromium ")
    assert meta["operator"] == "Test Operator"
    # The media file is exactly what the server sent (decoded from gzip on the wire).
    from tests.support.pages import png

    assert (root / "media/01-moonfox.png").read_bytes() == png(320, 240, (200, 40, 90))
    check = subprocess.run(
        [str(_warcio()), "check", "-v", str(root / "traffic.warc.gz")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout
    assert "digest pass" in check.stdout
    report = verify_bundle(root)
    assert report.ok, report.problems
    assert set(result.stages) >= {"navigate", "screenshot", "pdf", "warc", "seal"}


def _warcio():  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    return Path(sys.executable).with_name("warcio")


def test_challenge_page_is_a_failed_capture(tmp_path, chromium, site, sealing):
    for path in ("/challenge", "/soft-wall"):
        result = chromium.capture(
            CaptureJob(f"{site.url}{path}", tmp_path, allow(site.url, OPTIONS), sealing)
        )
        assert result.outcome is CaptureOutcome.FAILED
        assert result.reason is FailureReason.BOT_WALL
        assert result.directory is not None and not is_sealed(result.directory)
        assert result.directory.parent.name == "failed"
        assert not (result.directory / "manifest.json").exists()


def test_login_wall_and_first_time_404_fail(tmp_path, chromium, site, sealing):
    login = chromium.capture(
        CaptureJob(f"{site.url}/private", tmp_path, allow(site.url, OPTIONS), sealing)
    )
    assert login.reason is FailureReason.LOGIN_WALL
    missing = chromium.capture(
        CaptureJob(f"{site.url}/missing", tmp_path, allow(site.url, OPTIONS), sealing)
    )
    assert missing.reason is FailureReason.NOT_FOUND and not missing.sealed
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["failed"]


def test_follow_up_of_removed_page_is_sealed_removed(tmp_path, chromium, site, sealing):
    url = f"{site.url}/item/gone-soon"
    first = chromium.capture(CaptureJob(url, tmp_path, allow(url, OPTIONS), sealing))
    assert first.outcome is CaptureOutcome.SEALED
    site.remove("gone-soon")
    earlier = [{"capture_id": first.capture_id, "manifest_sha256": first.manifest_sha256}]
    follow = CaptureOptions(operator="Test Operator", settle_ms=100, follow_up=True)
    second = chromium.capture(
        CaptureJob(url, tmp_path, allow(url, follow), sealing, earlier=earlier)
    )
    assert second.outcome is CaptureOutcome.REMOVED and second.status == 404
    assert second.directory is not None and is_sealed(second.directory)
    meta = json.loads((second.directory / "metadata.json").read_text())
    assert meta["follow_up_of"] == earlier and meta["status"] == 404
    assert verify_bundle(second.directory).ok


def test_capture_records_how_it_was_made(tmp_path, chromium, site, sealing):
    import hashlib
    import io

    from PIL import Image

    result = chromium.capture(
        CaptureJob(f"{site.url}/js", tmp_path, allow(site.url, OPTIONS), sealing)
    )
    assert result.outcome is CaptureOutcome.SEALED, result.message
    root = result.directory
    assert root is not None
    process = json.loads((root / "metadata.json").read_text())["process"]
    steps = [s["step"] for s in process["steps"]]
    assert steps[:2] == ["navigate", "screenshot"] and "warc" in steps
    assert all(s["at"].endswith("+00:00") for s in process["steps"])
    assert "--disable-background-networking" in process["launch"]["switches"]
    assert "new, empty browser context" in process["profile"]
    assert process["proxy"]["browser_proxy"] is None
    from pathlib import Path

    hosts = Path("/etc/hosts").read_bytes()
    assert process["hosts_file"]["sha256"] == hashlib.sha256(hosts).hexdigest()
    assert process["dns"] == {"resolver_answer": ["127.0.0.1"],
                              "browser_connected_to": "127.0.0.1", "consistent": True}  # fmt: skip
    ua = process["user_agent"]
    assert ua["consistent"] and ua["claimed_version"] == ua["browser_version"]
    assert f"Chrome/{ua['browser_version']}" in ua["sent"]
    # the annotated copy carries a banner; the raw screenshot is left exactly as taken
    raw = Image.open(io.BytesIO((root / "screenshot-viewport.png").read_bytes()))
    marked = Image.open(io.BytesIO((root / "screenshot-annotated.png").read_bytes()))
    assert marked.width == raw.width and marked.height > raw.height
    assert marked.crop((0, marked.height - raw.height, raw.width, marked.height)).tobytes() == (
        raw.convert("RGB").tobytes()
    )
    names = {f["path"] for f in read_manifest(root)["files"]}
    assert "screenshot-annotated.png" in names

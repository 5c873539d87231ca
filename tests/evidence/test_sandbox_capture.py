"""Capturing the sandbox's JavaScript galleries: rendered content, walls, login sessions and
removal."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import httpx

from evidence.capture import (
    CaptureJob,
    CaptureOptions,
    CaptureOutcome,
    CaptureResult,
    FailureReason,
)
from evidence.capture.sites import CaptureSite
from evidence.seal import SealConfig, is_sealed
from evidence.signing import Signer
from evidence.timestamp import TsaSpec, timestamper_for
from evidence.verify import verify_bundle
from sandbox.client import storage_state
from tests.support.guard import allow

OPTIONS = CaptureOptions(operator="Test Operator", settle_ms=150)


def test_sandbox_gallery_capture_challenge_and_removal(tmp_path, chromium, sandbox_factory,
                                                       keypair):  # fmt: skip
    server = sandbox_factory()
    sealing = SealConfig(Signer.from_file(keypair[0]),
                         (timestamper_for(TsaSpec(server.tsa_url, server.ca_pem())),))  # fmt: skip
    item = next(t for t in server.truth()
                if t["platform"] == "gallery" and t["character"] and not t["removed"])  # fmt: skip
    shell = httpx.get(item["url"], timeout=30).text
    assert item["title"] not in shell  # the title only exists once JavaScript has run

    first = chromium.capture(CaptureJob(item["url"], tmp_path, allow(server.url, OPTIONS), sealing))
    assert first.outcome is CaptureOutcome.SEALED, first.message
    assert first.directory is not None and is_sealed(first.directory)
    assert item["title"] in (first.directory / "dom.html").read_text()
    assert item["title"] in (first.directory / "text.txt").read_text()
    meta = json.loads((first.directory / "metadata.json").read_text())
    assert meta["warc"]["responses"] > 1  # the shell, its script and the API calls it made
    assert verify_bundle(first.directory).ok

    wall = chromium.capture(CaptureJob(f"{item['url']}?sandbox_fault=challenge", tmp_path,
                                       allow(server.url, OPTIONS), sealing))  # fmt: skip
    assert wall.outcome is CaptureOutcome.FAILED and wall.reason is FailureReason.BOT_WALL

    server.remove(item["kind"], item["external_id"])
    follow = CaptureOptions(operator="Test Operator", settle_ms=150, follow_up=True)
    earlier = [{"capture_id": first.capture_id, "manifest_sha256": first.manifest_sha256}]
    gone = chromium.capture(
        CaptureJob(item["url"], tmp_path, allow(server.url, follow), sealing, earlier=earlier)
    )
    assert gone.outcome is CaptureOutcome.REMOVED and gone.status == 410
    assert gone.directory is not None and verify_bundle(gone.directory).ok


def _every_byte(directory: Path) -> bytes:
    """Every file of a capture folder, compressed ones decompressed."""
    out = b""
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        out += gzip.decompress(data) if path.suffix == ".gz" else data
    return out


def test_walled_item_is_captured_with_the_platform_login_session(
    tmp_path, chromium, sandbox_factory, keypair
) -> None:  # type: ignore[no-untyped-def]
    """With the platform's storage_state the capture shows the item, not the wall; the session
    never reaches the capture folder. Without it, or with the clearance cookie alone, the
    capture records the wall as a wall."""
    server = sandbox_factory()
    sealing = SealConfig(Signer.from_file(keypair[0]),
                         (timestamper_for(TsaSpec(server.tsa_url, server.ca_pem())),))  # fmt: skip
    truth = next(
        t
        for t in server.truth()
        if t["platform"] == "gallery" and t["kind"] == "model" and not t["removed"]
    )
    url = truth["sites"]["gallery-walled"]["url"]
    base = f"{server.url}/walled"
    session = tmp_path / "secrets" / "walled-session.json"
    session.parent.mkdir()
    session.write_text(storage_state(server.url), encoding="utf-8")
    cookies = [c["value"].encode() for c in json.loads(session.read_text())["cookies"]]

    def run(site: CaptureSite, subject: dict[str, str]) -> CaptureResult:
        options = allow(server.url, replace(OPTIONS, sites=(site,)))
        result: CaptureResult = chromium.capture(
            CaptureJob(url, tmp_path / "captures", options, sealing, subject=subject)
        )
        return result

    # the finding's platform names the session; a bare URL under the base URL finds it too
    for subject in ({"platform": "gallery-walled"}, {}):
        sealed = run(CaptureSite("gallery-walled", base, storage_state=session), subject)
        assert sealed.outcome is CaptureOutcome.SEALED, sealed.message
        assert sealed.directory is not None and verify_bundle(sealed.directory).ok
        assert truth["title"] in (sealed.directory / "text.txt").read_text()
        meta = json.loads((sealed.directory / "metadata.json").read_text())
        assert meta["site"] == {
            "platform": "gallery-walled", "login_session": True, "robots_txt": "obey",
        }  # fmt: skip
        assert meta["robots"]["page_allowed"] is True
        everything = _every_byte(sealed.directory)
        assert all(value not in everything for value in cookies)  # no cookie, no session file
        assert str(session).encode() not in everything

    bare = run(CaptureSite("gallery-walled", base), {"platform": "gallery-walled"})
    assert bare.outcome is CaptureOutcome.FAILED and bare.reason is FailureReason.BOT_WALL

    clearance_only = tmp_path / "secrets" / "clearance.json"
    state = json.loads(session.read_text())
    state["cookies"] = [c for c in state["cookies"] if c["name"] == "cf_clearance"]
    clearance_only.write_text(json.dumps(state), encoding="utf-8")
    dialog = run(CaptureSite("gallery-walled", base, storage_state=clearance_only), {})
    assert dialog.outcome is CaptureOutcome.FAILED and dialog.reason is FailureReason.LOGIN_WALL
    assert not (tmp_path / "captures" / dialog.capture_id).exists()  # never sealed as content

"""Capturing the sandbox's JavaScript gallery: rendered content, walls and removal."""

from __future__ import annotations

import json

import httpx

from evidence.capture import CaptureJob, CaptureOptions, CaptureOutcome, FailureReason
from evidence.seal import SealConfig, is_sealed
from evidence.signing import Signer
from evidence.timestamp import TsaSpec, timestamper_for
from evidence.verify import verify_bundle
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

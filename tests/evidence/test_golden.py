"""The committed golden bundle still verifies; tampered copies of it do not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evidence.signing import fingerprint
from evidence.verify import verify_bundle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evidence"
GOLDEN = FIXTURES / "golden"
CAPTURE = "findings/1/captures/20261201T000000Z-00000000"


def test_golden_bundle_verifies_with_its_published_key() -> None:
    trusted = fingerprint((FIXTURES / "keys" / "golden.pub.pem").read_bytes())
    report = verify_bundle(GOLDEN, trusted_key_fingerprint=trusted)
    assert report.ok, report.problems
    assert {c.name for c in report.checks} >= {"sha256", "signature", "key", "timestamp",
                                                 "custody", "warc"}  # fmt: skip
    assert len([c for c in report.checks if c.name == "timestamp"]) == 2


@pytest.mark.parametrize(
    "rel", [f"{CAPTURE}/dom.html", f"{CAPTURE}/traffic.warc.gz", f"{CAPTURE}/manifest.json",
            "findings/1/custody.jsonl", "public-key.pem"],
)  # fmt: skip
def test_tampered_golden_copy_fails_naming_the_file(tmp_path: Path, rel: str) -> None:
    copy = tmp_path / "golden"
    shutil.copytree(GOLDEN, copy)
    data = bytearray((copy / rel).read_bytes())
    data[len(data) // 2] ^= 0x20
    (copy / rel).write_bytes(bytes(data))
    report = verify_bundle(copy)
    assert not report.ok
    assert rel in {c.file for c in report.problems}

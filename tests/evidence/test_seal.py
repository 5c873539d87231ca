from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from evidence.exceptions import SealError, SigningError, TimestampError
from evidence.seal import ArtifactWriter, is_sealed, read_manifest, seal_directory
from evidence.signing import Signer, generate_keypair
from evidence.timestamp import TsaSpec, timestamper_for
from evidence.verify import verify_bundle
from tests.support.local_tsa import local_tsa


def make_capture(root: Path) -> ArtifactWriter:
    writer = ArtifactWriter(root)
    writer.write_bytes("screenshot.png", b"\x89PNG fake but bytes")
    writer.write_bytes("dom.html", "<html><body>角色 héllo</body></html>".encode())
    with writer.open("media/image.bin") as fh:
        for _ in range(3):
            fh.write(b"x" * 1000)
    return writer


def test_seal_writes_manifest_signature_and_verified_token(tmp_path, signer, stampers):
    writer = make_capture(tmp_path / "cap")
    record = seal_directory(
        tmp_path / "cap",
        signer=signer,
        timestampers=stampers,
        subject={"url": "u"},
        known=writer.digests,
    )
    assert is_sealed(tmp_path / "cap")
    manifest = read_manifest(tmp_path / "cap")
    paths = [f["path"] for f in manifest["files"]]
    assert paths == ["dom.html", "media/image.bin", "public-key.pem", "screenshot.png"]
    assert manifest["files"][1]["bytes"] == 3000
    assert len(record.tokens) == 1
    report = verify_bundle(tmp_path / "cap")
    assert report.ok, report.problems


def test_standard_tools_accept_the_seal(tmp_path, signer, stampers, tsa):
    root = tmp_path / "cap"
    writer = make_capture(root)
    record = seal_directory(
        root, signer=signer, timestampers=stampers, subject={}, known=writer.digests
    )
    name = record.tokens[0].name
    sums = subprocess.run(
        ["sha256sum", "-c", "sha256sums.txt"], cwd=root, capture_output=True, text=True
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    sig = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "public-key.pem",
            "-rawin",
            "-in",
            "manifest.json",
            "-sigfile",
            "manifest.sig",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert sig.returncode == 0 and "Signature Verified Successfully" in sig.stdout
    ts = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            "manifest.json",
            "-in",
            f"timestamps/{name}.tsr",
            "-CAfile",
            f"timestamps/{name}.ca.pem",
            "-untrusted",
            f"timestamps/{name}.certs.pem",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert ts.returncode == 0 and "Verification: OK" in ts.stdout, ts.stdout + ts.stderr


def test_one_token_per_tsa(tmp_path, signer, tsa, second_tsa):
    root = tmp_path / "cap"
    writer = make_capture(root)
    stampers = [timestamper_for(TsaSpec(s.url, s.ca_pem)) for s in (tsa, second_tsa)]
    record = seal_directory(
        root, signer=signer, timestampers=stampers, subject={}, known=writer.digests, min_tokens=2
    )
    assert len(record.tokens) == 2
    assert len(list((root / "timestamps").glob("*.tsr"))) == 2
    assert verify_bundle(root).ok


def test_failing_tsa_leaves_directory_unsealed(tmp_path, signer):
    root = tmp_path / "cap"
    writer = make_capture(root)
    with local_tsa(tmp_path / "bad", status=500) as bad:
        stamper = timestamper_for(TsaSpec(bad.url, bad.ca_pem))
        with pytest.raises(SealError, match=r"HTTP 500"):
            seal_directory(
                root, signer=signer, timestampers=[stamper], subject={}, known=writer.digests
            )
    assert not is_sealed(root)
    assert not (root / "manifest.sig").exists()


def test_token_from_untrusted_ca_is_rejected(tmp_path, signer, tsa):
    root = tmp_path / "cap"
    make_capture(root)
    with local_tsa(tmp_path / "other") as other:
        # The pinned CA belongs to another authority: the token must not be accepted.
        stamper = timestamper_for(TsaSpec(tsa.url, other.ca_pem))
        with pytest.raises(TimestampError, match=tsa.url):
            stamper.stamp(b"manifest bytes")
        with pytest.raises(SealError, match="not sealed"):
            seal_directory(root, signer=signer, timestampers=[stamper], subject={})
    assert not is_sealed(root)


def test_unreachable_tsa_error_names_url(tmp_path, tsa):
    stamper = timestamper_for(TsaSpec("http://127.0.0.1:9/tsa", tsa.ca_pem, timeout=2))
    with pytest.raises(TimestampError, match=r"http://127.0.0.1:9/tsa"):
        stamper.stamp(b"data")
    with pytest.raises(TimestampError, match="unsupported TSA scheme 'ftp'"):
        timestamper_for(TsaSpec("ftp://x/tsa", tsa.ca_pem))


def test_no_tsa_configured_refuses_to_seal(tmp_path, signer):
    make_capture(tmp_path / "cap")
    with pytest.raises(SealError, match="no timestamp authority"):
        seal_directory(tmp_path / "cap", signer=signer, timestampers=[], subject={})


def test_keys_init_mode_and_refusal(tmp_path):
    pair = generate_keypair(tmp_path / "k" / "key.pem", tmp_path / "k" / "key.pub.pem")
    assert (pair.private_path.stat().st_mode & 0o777) == 0o600
    assert len(pair.fingerprint) == 64
    with pytest.raises(SigningError, match="already exists"):
        generate_keypair(pair.private_path, pair.public_path)
    pair.private_path.chmod(0o644)
    with pytest.raises(SigningError, match="accessible by others"):
        Signer.from_file(pair.private_path)
    with pytest.raises(SigningError, match="keys init"):
        Signer.from_file(tmp_path / "missing.pem")


def test_manifest_is_canonical_json(tmp_path, signer, stampers):
    make_capture(tmp_path / "cap")
    seal_directory(tmp_path / "cap", signer=signer, timestampers=stampers, subject={"id": 1})
    raw = (tmp_path / "cap" / "manifest.json").read_text()
    assert json.loads(raw)["subject"] == {"id": 1}
    assert raw.endswith("\n")


def test_seal_with_the_sandbox_tsa(tmp_path, signer, sandbox):
    root = tmp_path / "cap"
    writer = make_capture(root)
    stamper = timestamper_for(TsaSpec(sandbox.tsa_url, sandbox.ca_pem()))
    record = seal_directory(root, signer=signer, timestampers=[stamper], subject={},
                            known=writer.digests)  # fmt: skip
    assert record.tokens[0].policy == "1.3.6.1.4.1.55555.1.1"
    assert verify_bundle(root).ok
    name = record.tokens[0].name
    ts = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "manifest.json", "-in", f"timestamps/{name}.tsr",
         "-CAfile", f"timestamps/{name}.ca.pem", "-untrusted", f"timestamps/{name}.certs.pem"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert "Verification: OK" in ts.stdout, ts.stdout + ts.stderr


def test_tokens_record_the_host_clock_offset(tmp_path, signer, stampers):
    make_capture(tmp_path / "cap")
    record = seal_directory(tmp_path / "cap", signer=signer, timestampers=stampers, subject={})
    stamp = record.as_dict()["timestamps"][0]
    # the local TSA shares this host's clock (accuracy 1 s, genTime truncated to seconds)
    assert stamp["local_clock"] and abs(stamp["clock_offset_s"]) < 5

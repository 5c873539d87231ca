"""An exported case bundle: verifies, survives standard tools, and every tamper is caught."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evidence.capture import CaptureOptions
from evidence.casefile import capture_findings_async
from evidence.custody import parse_log
from evidence.settings import EvidenceSettings
from evidence.signing import generate_keypair
from evidence.store import Store
from evidence.verify import verify_bundle
from tests.support.casefile import seed_finding
from tests.support.guard import allow

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, tsa, keypair, site, chromium):
    from evidence.bundle import export_bundle

    base = tmp_path_factory.mktemp("bundle")
    settings = EvidenceSettings(
        folder=base / "evidence", signing_key=keypair[0], tsa_urls=(tsa.url,),
        operator="Test Operator", extra_ca={tsa.url: tsa.ca_pem}, timezone="Asia/Shanghai",
    )  # fmt: skip
    store = Store.open(f"sqlite:///{base / 'case.db'}")
    fid = seed_finding(store, site.url, "export1", base / "refs")
    options = CaptureOptions(operator="Test Operator", settle_ms=100)
    result = chromium.run(
        capture_findings_async(
            store, [fid], settings, allow(site.url, options), browser=chromium.browser
        )
    )[0]
    assert result.sealed, result.message
    out = base / "case.zip"
    exported = export_bundle(store, [fid], str(out), settings)
    store.dispose()
    assert exported.uri == out.resolve().as_uri()
    tree = base / "tree"
    with zipfile.ZipFile(out) as z:
        z.extractall(tree)
    return {"zip": out, "tree": tree, "finding": fid, "capture": result.capture_id}


def _copy(bundle, tmp_path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle["tree"], target)
    return target


def _failed_files(root: Path) -> set[str]:
    report = verify_bundle(root)
    assert not report.ok
    return {c.file for c in report.problems}


def test_bundle_layout_and_verification(bundle):
    tree = bundle["tree"]
    fdir = tree / "findings" / str(bundle["finding"])
    cap = fdir / "captures" / bundle["capture"]
    for rel in ("VERIFY.md", "manifest.json", "manifest.sig", "public-key.pem", "sha256sums.txt"):
        assert (tree / rel).is_file(), rel
    for rel in (
        "finding.json",
        "custody.jsonl",
        "report.html",
        "report.pdf",
        f"finding-{bundle['finding']}.wacz",
    ):
        assert (fdir / rel).is_file(), rel
    assert list((fdir / "references").glob("*.png"))
    assert list((tree / "timestamps").glob("*.tsr")) and list((cap / "timestamps").glob("*.tsr"))
    facts = json.loads((fdir / "finding.json").read_text())
    assert facts["finding"]["reasons"][0]["text"].startswith("perceptual hash")
    actions = [e.action.value for e in parse_log((fdir / "custody.jsonl").read_bytes(), source="x")]
    assert actions == ["captured", "sealed", "anchored"]  # "exported" follows the zip
    report = verify_bundle(bundle["zip"])
    assert report.ok, report.problems
    kinds = {c.name for c in report.checks}
    assert {"sha256", "signature", "key", "timestamp", "custody", "warc", "wacz"} <= kinds


def test_standard_tools_accept_the_bundle(bundle):
    tree = bundle["tree"]
    sealed = sorted({p.parent for p in tree.rglob("manifest.json")})
    assert len(sealed) == 3  # root, the capture, the key record
    for d in sealed:

        def run(*a, d=d):  # type: ignore[no-untyped-def]
            return subprocess.run(a, cwd=d, capture_output=True, text=True)

        assert run("sha256sum", "-c", "--quiet", "sha256sums.txt").returncode == 0
        sig = run(
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
        )
        assert "Signature Verified Successfully" in sig.stdout, sig.stderr
        for tsr in (d / "timestamps").glob("*.tsr"):
            b = str(tsr)[: -len(".tsr")]
            ts = run(
                "openssl",
                "ts",
                "-verify",
                "-data",
                "manifest.json",
                "-in",
                str(tsr),
                "-CAfile",
                b + ".ca.pem",
                "-untrusted",
                b + ".certs.pem",
            )
            assert "Verification: OK" in ts.stdout, ts.stdout + ts.stderr
    warcs = [str(p) for p in tree.rglob("traffic.warc.gz")]
    check = subprocess.run(
        [str(BIN / "warcio"), "check", "-v", *warcs], capture_output=True, text=True
    )
    assert check.returncode == 0 and "digest pass" in check.stdout
    wacz = next(tree.rglob("*.wacz"))
    valid = subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True
    )
    assert valid.returncode == 0 and "Validation succeeded" in valid.stdout, valid.stdout


def test_verify_md_fingerprint_recipe_matches(bundle):
    tree = bundle["tree"]
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", "public-key.pem", "-outform", "DER"],
        cwd=tree,
        capture_output=True,
        check=True,
    ).stdout
    import hashlib

    fingerprint = hashlib.sha256(der[-32:]).hexdigest()
    assert json.loads((tree / "manifest.json").read_text())["key_fingerprint"] == fingerprint
    assert "sha256sum -c" in (tree / "VERIFY.md").read_text()


def test_pdf_report_contains_hashes(bundle):
    fdir = bundle["tree"] / "findings" / str(bundle["finding"])
    text = subprocess.run(
        ["pdftotext", "-layout", str(fdir / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    manifest = json.loads((fdir / "captures" / bundle["capture"] / "manifest.json").read_text())
    for entry in manifest["files"]:
        assert entry["sha256"] in text, entry["path"]
    assert "取证说明" in text and "902(13)" in text and "resembles" in text
    html = (fdir / "report.html").read_text()
    assert "infringes" not in html.replace("does not conclude that it infringes", "")
    assert "Asia/Shanghai" in text
    # the placement the crawl recorded, the key fingerprint, the articles the court applies
    assert "home page at position 3" in html and "平台首页" in html
    assert manifest["key_fingerprint"] in html
    for article in ("第十一条", "第十四条", "第十五条", "第九十三条", "第九十四条"):
        assert article in html
    assert "{'" not in html and "&#39;kind&#39;" not in html
    # serials in hex beside decimal; the host clock offset stated with the TSA's accuracy
    assert "(hex 0x" in html and "TSA accuracy 时间戳精度 ±1.0 s" in html
    assert "I, <b>Test Operator</b>" in html  # the certification is filled from the case


# --- tamper cases: every one fails and names the file --------------------------------------


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


CAPTURE_FILES = ["screenshot-full.png", "screenshot-viewport.png", "dom.html", "page.mhtml",
                 "page.pdf", "traffic.warc.gz", "metadata.json", "text.txt",
                 "media/01-export1.png"]  # fmt: skip


@pytest.mark.parametrize("name", CAPTURE_FILES)
def test_flipped_byte_in_capture_file_fails_naming_it(bundle, tmp_path, name):
    root = _copy(bundle, tmp_path)
    rel = f"findings/{bundle['finding']}/captures/{bundle['capture']}/{name}"
    _flip(root / rel)
    assert rel in _failed_files(root)


@pytest.mark.parametrize("name", ["finding.json", "report.pdf", "report.html", "custody.jsonl"])
def test_flipped_byte_in_finding_file_fails_naming_it(bundle, tmp_path, name):
    root = _copy(bundle, tmp_path)
    rel = f"findings/{bundle['finding']}/{name}"
    _flip(root / rel)
    assert rel in _failed_files(root)


def test_flipped_byte_in_wacz_reference_and_verify_md(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    wacz = next(root.rglob("*.wacz"))
    ref = next(root.rglob("references/*.png"))
    _flip(wacz)
    _flip(ref, offset=40)
    _flip(root / "VERIFY.md")
    failed = _failed_files(root)
    for p in (wacz, ref, root / "VERIFY.md"):
        assert p.relative_to(root).as_posix() in failed


def test_edited_manifest_fails(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    rel = f"findings/{bundle['finding']}/captures/{bundle['capture']}/manifest.json"
    manifest = json.loads((root / rel).read_text())
    manifest["files"][0]["sha256"] = "0" * 64
    (root / rel).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    failed = _failed_files(root)
    assert rel in failed  # listed in the outer manifest, and the signature no longer matches
    assert rel.replace("manifest.json", "manifest.sig") in failed
    assert any(f.endswith(".tsr") and f.startswith("findings/") for f in failed)


@pytest.mark.parametrize("how", ["reorder", "delete-middle", "delete-last"])
def test_custody_reordered_or_deleted_line_fails(bundle, tmp_path, how):
    root = _copy(bundle, tmp_path)
    rel = f"findings/{bundle['finding']}/custody.jsonl"
    lines = (root / rel).read_text().splitlines(keepends=True)
    if how == "reorder":
        lines[0], lines[1] = lines[1], lines[0]
    elif how == "delete-middle":
        del lines[1]
    else:
        del lines[-1]
    (root / rel).write_text("".join(lines))
    report = verify_bundle(root)
    failed = {(c.name, c.file) for c in report.problems}
    assert ("sha256", rel) in failed
    if how != "delete-last":
        assert ("custody", rel) in failed


def test_swapped_timestamp_token_fails(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    cap = f"findings/{bundle['finding']}/captures/{bundle['capture']}"
    outer = next((root / "timestamps").glob("*.tsr"))
    inner = root / cap / "timestamps" / outer.name
    shutil.copyfile(outer, inner)  # a genuine token, but over another manifest
    report = verify_bundle(root)
    failed = {(c.name, c.file) for c in report.problems}
    assert ("timestamp", f"{cap}/timestamps/{outer.name}") in failed


def test_substituted_public_key_fails(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    pair = generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    shutil.copyfile(pair.public_path, root / "public-key.pem")
    report = verify_bundle(root)
    failed = {(c.name, c.file) for c in report.problems}
    assert ("signature", "manifest.sig") in failed
    assert ("key", "public-key.pem") in failed
    assert ("sha256", "public-key.pem") in failed


def test_resealed_with_other_key_fails_against_trusted_fingerprint(bundle, tmp_path):
    from evidence.signing import Signer

    root = _copy(bundle, tmp_path)
    pair = generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    signer = Signer.from_file(pair.private_path)
    original = json.loads((root / "manifest.json").read_text())["key_fingerprint"]
    (root / "public-key.pem").write_bytes(signer.public_pem)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["key_fingerprint"] = signer.fingerprint
    for f in manifest["files"]:
        if f["path"] == "public-key.pem":
            import hashlib

            f["sha256"] = hashlib.sha256(signer.public_pem).hexdigest()
    data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    (root / "manifest.json").write_bytes(data)
    (root / "manifest.sig").write_bytes(signer.sign(data))
    report = verify_bundle(root, trusted_key_fingerprint=original)
    failed = {(c.name, c.file) for c in report.problems}
    assert ("key", "public-key.pem") in failed
    assert any(name == "timestamp" and file.startswith("timestamps/") for name, file in failed)


def test_extra_file_is_reported(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    (root / "findings" / "planted.txt").write_text("x")
    assert "findings/planted.txt" in _failed_files(root)


def test_cli_verify_fails_with_exit_1(bundle, tmp_path):
    # (the passing case, exit 0, is in tests/rightswatch/test_evidence_cli.py)
    root = _copy(bundle, tmp_path)
    _flip(root / "VERIFY.md")
    bad = subprocess.run(
        [sys.executable, "-m", "rightswatch", "verify", "--json", str(root)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    result = json.loads(bad.stdout)
    assert not result["ok"]
    assert any(c["file"] == "VERIFY.md" and not c["ok"] for c in result["checks"])


def test_wacz_index_agrees_with_cdxj_indexer(bundle):
    from evidence.wacz import cdxj_lines

    warc = next(bundle["tree"].rglob("traffic.warc.gz"))
    out = subprocess.run([str(BIN / "cdxj-indexer"), str(warc)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip

    def key(line: str) -> tuple[str, str, int, int, str]:
        urlkey, ts, data = line.split(" ", 2)
        entry = json.loads(data)
        return urlkey, ts, int(entry["offset"]), int(entry["length"]), entry["digest"]

    reference = {key(line) for line in out.splitlines() if '"status"' in line}
    ours = {key(line) for line in cdxj_lines(warc, "traffic.warc.gz")}
    assert reference and reference == ours

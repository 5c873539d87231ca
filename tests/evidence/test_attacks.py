"""An opposing expert's attacks on an exported bundle: each must fail `verify` with a named reason.

The legitimate case: capture, custody anchored at the end of the run, a person confirms, export
(anchored again). Each attack below is built the way an expert with the operator's tools would
build it, re-sealing with the product's own seal code; a genuine TSA answering a day or a month
later, or a look-alike TSA, comes from tests/support/clock_tsa.py. Nothing waits on the clock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence.anchors import head_data, token_record
from evidence.capture import CaptureOptions
from evidence.casefile import anchor_run, capture_findings_async, record_decision
from evidence.custody import CUSTODY_LOG, CustodyAction, next_entry, parse_log, write_log
from evidence.models import FindingStatus
from evidence.seal import MANIFEST, PUBLIC_KEY, read_manifest, seal_directory, unseal
from evidence.settings import EvidenceSettings
from evidence.signing import Signer, generate_keypair
from evidence.store import Store
from evidence.timestamp import Timestamper
from evidence.trust import TrustAnchors
from evidence.verify import VerifyReport, verify_bundle
from evidence.verify_text import verify_script
from tests.support.casefile import seed_finding
from tests.support.clock_tsa import ClockStamper, authority, served_tsa
from tests.support.guard import allow

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def case(tmp_path_factory, keypair, site, chromium):  # type: ignore[no-untyped-def]
    from evidence.bundle import export_bundle

    base = tmp_path_factory.mktemp("attacks")
    with served_tsa(base / "tsa-state") as tsa:
        settings = EvidenceSettings(
            folder=base / "evidence", signing_key=keypair[0], tsa_urls=(tsa.url,),
            operator="Test Operator", extra_ca={tsa.url: tsa.ca_pem},
        )  # fmt: skip
        store = Store.open(f"sqlite:///{base / 'case.db'}")
        fid = seed_finding(store, site.url, "attack1", base / "refs")
        options = allow(site.url, CaptureOptions(operator="Test Operator", settle_ms=100))
        result = chromium.run(
            capture_findings_async(store, [fid], settings, options, browser=chromium.browser)
        )[0]
        assert result.sealed, result.message
        assert anchor_run(store, [fid], settings) == []
        record_decision(store, fid, FindingStatus.CONFIRMED, reviewer="Jane Doe", reason="same")
        out = base / "case.zip"
        export_bundle(store, [fid], str(out), settings, report=False)
        store.dispose()
    tree = base / "tree"
    with zipfile.ZipFile(out) as z:
        z.extractall(tree)
    signer = Signer.from_file(keypair[0])
    return {
        "tree": tree, "finding": fid, "capture": result.capture_id, "tsa": tsa,
        "signer": signer, "trust": TrustAnchors(signer.fingerprint, (tsa.ca_pem,)),
    }  # fmt: skip


def _copy(case, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    target = tmp_path / "copy"
    shutil.copytree(case["tree"], target)
    return target


def _sealed_dirs(root: Path) -> list[Path]:
    """Deepest first: nested folders are re-sealed before the folders that list them."""
    return sorted({p.parent for p in root.rglob(MANIFEST)}, key=lambda p: -len(p.parts))


def reseal(directory: Path, signer: Signer, stamper: Timestamper) -> None:
    """What a forger does after editing a folder: a fresh, valid seal over the new content."""
    subject = read_manifest(directory)["subject"]
    unseal(directory)
    (directory / PUBLIC_KEY).unlink()
    seal_directory(directory, signer=signer, timestampers=[stamper], subject=subject)


def _failures(report: VerifyReport) -> dict[tuple[str, str], str]:
    assert not report.ok
    return {(c.name, c.file): c.detail for c in report.problems}


def script(case, root: Path, tmp_path: Path, *, anchored: bool = True) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """VERIFY.md's all-in-one procedure, from the product's own copy (not the bundle's)."""
    (tmp_path / "verify-all.sh").write_text(verify_script())
    env = {"PATH": os.environ["PATH"]}
    if anchored:
        (tmp_path / "roots.pem").write_bytes(case["tsa"].ca_pem)
        env |= {
            "PUBLISHED_KEY": case["signer"].fingerprint,
            "TSA_ROOTS": str(tmp_path / "roots.pem"),
        }
    done = subprocess.run(["bash", str(tmp_path / "verify-all.sh")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def _paths(case, root: Path) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    cap = f"findings/{case['finding']}/captures/{case['capture']}"
    return cap, root / cap


def test_the_legitimate_bundle_verifies_anchored(case):
    report = verify_bundle(case["tree"], trust=case["trust"])
    assert report.ok, [(c.name, c.file, c.detail) for c in report.problems]
    assert report.anchored and report.verdict.startswith("VERIFIED (anchored")
    names = {c.name for c in report.checks}
    assert {"anchor", "time", "link", "key", "custody"} <= names
    plain = verify_bundle(case["tree"])
    assert plain.ok and not plain.anchored and "self-consistent only" in plain.verdict


def test_the_verify_md_procedure_passes_the_legitimate_bundle(case, tmp_path):
    code, out = script(case, case["tree"], tmp_path)
    assert code == 0 and "ALL CHECKS PASSED" in out, out
    text = (case["tree"] / "VERIFY.md").read_text()
    assert case["signer"].fingerprint in text and f"finding-{case['finding']}.wacz" in text
    assert "pip install warcio" in text and "**yes, the fingerprint**" in text
    cap = f"findings/{case['finding']}/captures/{case['capture']}"
    assert f"`{cap}`" in text and "serial 0x" in text
    assert (case["tree"] / "verify-all.sh").read_text() == verify_script()


def test_whole_bundle_resealed_with_another_key_later(case, tmp_path):
    root = _copy(case, tmp_path)
    pair = generate_keypair(tmp_path / "forger.pem", tmp_path / "forger.pub.pem")
    forger = Signer.from_file(pair.private_path)
    for directory in _sealed_dirs(root):
        reseal(directory, forger, case["tsa"].later(DAY))
    failed = _failures(verify_bundle(root, trust=case["trust"]))
    assert "not the published key" in failed[("anchor", PUBLIC_KEY)]
    # even without the published fingerprint, the fresh tokens betray the late re-seal
    cap, _ = _paths(case, root)
    alone = _failures(verify_bundle(root))
    assert "before TSA time" in alone[("time", f"{cap}/metadata.json")]
    code, out = script(case, root, tmp_path)  # standard tools, with the published fingerprint
    assert code == 1 and "not the published key" in out and "from the TSA time" in out


def test_only_the_root_resealed_with_a_different_key(case, tmp_path):
    root = _copy(case, tmp_path)
    pair = generate_keypair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    reseal(root, Signer.from_file(pair.private_path), case["tsa"].later(timedelta(0)))
    cap, _ = _paths(case, root)
    failed = _failures(verify_bundle(root))  # no outside anchor needed
    assert "must carry the same key" in failed[("key", f"{cap}/{PUBLIC_KEY}")]
    code, out = script(case, root, tmp_path, anchored=False)
    assert code == 1 and "different keys" in out, out


def test_look_alike_tsa_whose_ca_ships_in_the_bundle(case, tmp_path):
    root = _copy(case, tmp_path)
    fake = ClockStamper(authority(tmp_path / "look-alike"), case["tsa"].url)
    for directory in _sealed_dirs(root):
        reseal(directory, case["signer"], fake)
    failed = _failures(verify_bundle(root, trust=case["trust"]))
    token = next(f for n, f in failed if n == "anchor" and f.startswith("timestamps/"))
    assert "not anchored" in failed[("anchor", token)]
    code, out = script(case, root, tmp_path)  # needs the TSA's own root
    assert code == 1 and "does not verify against" in out, out


def test_capture_start_moved_a_month_earlier_and_resealed(case, tmp_path):
    root = _copy(case, tmp_path)
    cap, cap_dir = _paths(case, root)
    meta = json.loads((cap_dir / "metadata.json").read_text())
    started = datetime.fromisoformat(meta["started_utc"]) - timedelta(days=30)
    meta["started_utc"] = started.isoformat()
    (cap_dir / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    now = case["tsa"].later(timedelta(0))
    reseal(cap_dir, case["signer"], now)
    reseal(root, case["signer"], now)
    failed = _failures(verify_bundle(root, trust=case["trust"]))
    assert "recorded start" in failed[("time", f"{cap}/metadata.json")]
    assert "custody 'sealed' entry names" in failed[("link", f"{cap}/{MANIFEST}")]
    code, out = script(case, root, tmp_path, anchored=False)
    assert code == 1 and "started_utc is" in out and "custody names another" in out, out


def test_custody_entry_deleted_chain_recomputed_and_resealed(case, tmp_path):
    root = _copy(case, tmp_path)
    rel = f"findings/{case['finding']}/{CUSTODY_LOG}"
    entries = parse_log((root / rel).read_bytes(), source=rel)
    kept = [e for e in entries if e.action is not CustodyAction.DECIDED]  # who confirmed: gone
    later = case["tsa"].later(DAY)
    rebuilt = []
    for entry in kept:
        details = dict(entry.details)
        previous = rebuilt[-1] if rebuilt else None
        if entry.action is CustodyAction.ANCHORED:  # re-anchor the new head with fresh tokens
            assert previous is not None
            details["head"] = previous.hash
            details["tokens"] = [token_record(later.stamp(head_data(previous.hash)))]
        rebuilt.append(next_entry(
            previous, entry.action, actor=entry.actor, subject=entry.subject, details=details,
            at=datetime.fromisoformat(entry.at.replace("Z", "+00:00")), seq=entry.seq,
        ))  # fmt: skip
    write_log(root / rel, rebuilt)
    reseal(root, case["signer"], later)
    failed = _failures(verify_bundle(root, trust=case["trust"]))
    assert "re-anchored later" in failed[("custody", rel)]
    code, out = script(case, root, tmp_path, anchored=False)
    assert code == 1 and "re-anchored later" in out, out


def test_file_removed_and_manifest_resigned_while_custody_names_the_old_hash(case, tmp_path):
    root = _copy(case, tmp_path)
    cap, cap_dir = _paths(case, root)
    next((cap_dir / "media").iterdir()).unlink()
    now = case["tsa"].later(timedelta(0))
    reseal(cap_dir, case["signer"], now)
    reseal(root, case["signer"], now)
    failed = _failures(verify_bundle(root, trust=case["trust"]))
    detail = failed[("link", f"{cap}/{MANIFEST}")]
    assert "finding.json names manifest" in detail and "custody 'sealed' entry" in detail
    code, out = script(case, root, tmp_path, anchored=False)
    assert code == 1 and "finding.json names another manifest hash" in out, out


def test_cli_verify_names_the_reason(case, tmp_path):
    root = _copy(case, tmp_path)
    pair = generate_keypair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    for directory in _sealed_dirs(root):
        reseal(directory, Signer.from_file(pair.private_path), case["tsa"].later(timedelta(0)))
    ca = tmp_path / "tsa-root.pem"
    ca.write_bytes(case["tsa"].ca_pem)
    args = [sys.executable, "-m", "rightswatch", "verify", "--json", str(root),
            "--key-fingerprint", case["signer"].fingerprint, "--tsa-ca", str(ca)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["anchored"] and result["verdict"] == "NOT VERIFIED"
    assert any(c["name"] == "anchor" and "not the published key" in c["detail"]
               for c in result["checks"])  # fmt: skip


def test_custody_times_may_differ_a_little_between_machines_not_an_hour(tmp_path):
    from evidence.crosscheck import anchor_problems

    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def chain(back: timedelta) -> list:  # type: ignore[type-arg]
        first = next_entry(None, CustodyAction.CAPTURED, actor="w1", subject="finding:1", at=t0)
        return [first, next_entry(first, CustodyAction.SEALED, actor="w2", subject="finding:1",
                                  at=t0 - back)]  # fmt: skip

    assert (
        anchor_problems(tmp_path, chain(timedelta(seconds=2)), TrustAnchors(), bundle=False) == []
    )
    problems = anchor_problems(tmp_path, chain(timedelta(hours=1)), TrustAnchors(), bundle=False)
    assert problems and "goes back" in problems[0]

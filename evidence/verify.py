"""Independent verification of a sealed capture directory or an exported bundle.

Checks, each reported with the file it concerns (research/evidence.md §3.4 item 6):

    sha256      every file listed in a manifest: present, same size, same SHA-256
    unlisted    no file in a sealed directory that its manifest does not list
    sha256sums  sha256sums.txt agrees with manifest.json
    signature   manifest.sig is a valid Ed25519 signature of manifest.json by public-key.pem,
                whose fingerprint is the one the manifest names (and, if given, the trusted one)
    timestamp   each timestamps/*.tsr verifies over manifest.json against its bundled CA
                (message imprint, chain to the CA, timeStamping EKU); at least one is present
    custody     custody.jsonl hash chain unbroken
    warc        every WARC record's block and payload digests (warcio)
    wacz        every WACZ's datapackage.json resource hashes and datapackage-digest.json
    key, anchor, time, link
                across folders and against the verifier's own trust anchors
                (evidence/crosscheck.py, evidence/trust.py)

Verification never stops at the first failure: it lists every problem it finds. A report says
whether it is *anchored* (key fingerprint and TSA roots from outside the bundle) or only
*self-consistent*.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from evidence import wacz
from evidence.crosscheck import (
    Check,
    anchor_problems,
    key_checks,
    link_checks,
    time_checks,
    token_anchor_checks,
)
from evidence.custody import CUSTODY_LOG, chain_problems, parse_log
from evidence.exceptions import CustodyError, SealError, SigningError, TimestampError
from evidence.exceptions import VerificationError as VerifyRunError
from evidence.seal import (
    MANIFEST,
    PUBLIC_KEY,
    SHA256SUMS,
    SIGNATURE,
    TIMESTAMPS,
    content_files,
    hash_file,
    read_manifest,
)
from evidence.signing import fingerprint, signature_valid
from evidence.timestamp import verify_token
from evidence.trust import TrustAnchors

BUNDLE_FORMAT = 2  # 2: custody anchored at export, capture times recorded for time checks
LEGACY_NOTE = (
    "bundle format 1 (made before custody anchors): custody entries carry no trusted time and "
    "capture times are not cross-checked; the result is self-consistent at most"
)

__all__ = ["Check", "TrustAnchors", "VerifyReport", "verify_bundle", "verify_tree"]


@dataclass(frozen=True)
class VerifyReport:
    """Every check run over one bundle or capture directory."""

    source: str
    checks: tuple[Check, ...]
    anchored: bool = False  # key fingerprint and TSA roots came from outside the bundle

    @property
    def verdict(self) -> str:
        """VERIFIED (anchored), VERIFIED (self-consistent only) or NOT VERIFIED."""
        if not self.ok:
            return "NOT VERIFIED"
        if any(c.name == "format" for c in self.checks):
            return "VERIFIED (format 1 bundle without custody anchors: self-consistent at most)"
        if self.anchored:
            return "VERIFIED (anchored to the published key and the trusted TSA roots)"
        return (
            "VERIFIED (self-consistent only: give the published --key-fingerprint and the "
            "TSAs' roots with --tsa-ca to anchor it)"
        )

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def verify_bundle(
    path: Path,
    *,
    trusted_key_fingerprint: str | None = None,
    trust: TrustAnchors | None = None,
) -> VerifyReport:
    """Verify a sealed directory or an exported ``.zip`` bundle; never raises on a bad check.

    ``trust`` carries the verifier's own anchors (``trusted_key_fingerprint`` is a shorthand
    for a trust with only the key).
    """
    if trust is None:
        trust = TrustAnchors.load(key_fingerprint=trusted_key_fingerprint)
    with _opened(path) as root:
        checks = verify_tree(root, trust=trust)
    return VerifyReport(str(path), tuple(checks), anchored=trust.anchored)


@contextmanager
def _opened(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield path
        return
    if not zipfile.is_zipfile(path):
        raise VerifyRunError(f"{path}: neither a directory nor a zip bundle")
    with tempfile.TemporaryDirectory(prefix="rw-verify-") as tmp:
        extract_zip(path, Path(tmp))
        yield Path(tmp)


def extract_zip(path: Path, dest: Path) -> None:
    """Extract a bundle, refusing absolute paths and ``..`` components."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise VerifyRunError(f"{path}: unsafe member path {info.filename!r}")
        archive.extractall(dest)


def verify_tree(root: Path, *, trust: TrustAnchors | None = None) -> list[Check]:
    """Checks for ``root`` and every sealed directory nested in it."""
    trust = trust or TrustAnchors()
    checks: list[Check] = []
    sealed_dirs = sorted({p.parent for p in root.rglob(MANIFEST)}, key=lambda p: len(p.parts))
    if root not in sealed_dirs:
        checks.append(Check("manifest", MANIFEST, False, "no manifest.json at the bundle root"))
    for directory in sealed_dirs:
        prefix = "" if directory == root else directory.relative_to(root).as_posix() + "/"
        checks.extend(verify_sealed(directory, prefix, trust.key_fingerprint))
    checks.extend(key_checks(root, sealed_dirs, trust))
    checks.extend(token_anchor_checks(root, sealed_dirs, trust))
    checks.extend(time_checks(root, sealed_dirs, trust, legacy=bundle_format(root) < 2))
    checks.extend(link_checks(root))
    legacy = bundle_format(root) < BUNDLE_FORMAT
    bundle = (root / "findings").is_dir() and not legacy
    if legacy and (root / "findings").is_dir():
        checks.append(Check("format", MANIFEST, True, LEGACY_NOTE))
    for log in sorted(root.rglob(CUSTODY_LOG)):
        checks.append(_custody_check(root, log, trust, bundle=bundle))
    for path in sorted([*root.rglob("*.warc.gz"), *root.rglob("*.warc")]):
        checks.extend(warc_checks(path, path.relative_to(root).as_posix()))
    for path in sorted(root.rglob("*.wacz")):
        rel = path.relative_to(root).as_posix()
        problems = wacz.wacz_problems(path)
        checks.append(Check("wacz", rel, not problems, "; ".join(problems) or "package valid"))
    return checks


def verify_sealed(root: Path, prefix: str, trusted: str | None) -> list[Check]:
    """File hashes, checksums, signature and timestamps of one sealed directory."""
    try:
        manifest = read_manifest(root)
        manifest_bytes = (root / MANIFEST).read_bytes()
    except SealError as exc:
        return [Check("manifest", prefix + MANIFEST, False, str(exc))]
    checks = [Check("manifest", prefix + MANIFEST, True, f"{len(manifest['files'])} files")]
    checks.extend(_file_checks(root, prefix, manifest))
    checks.append(_sums_check(root, prefix, manifest))
    checks.extend(_signature_checks(root, prefix, manifest, manifest_bytes, trusted))
    checks.extend(_timestamp_checks(root, prefix, manifest_bytes))
    return checks


def _file_checks(root: Path, prefix: str, manifest: dict[str, Any]) -> list[Check]:
    checks = []
    listed = set()
    nested = {p.parent for p in root.rglob(MANIFEST)} - {root}
    for entry in manifest["files"]:
        rel = str(entry["path"])
        listed.add(rel)
        path = root / rel
        if ".." in PurePosixPath(rel).parts or not path.is_file():
            checks.append(Check("sha256", prefix + rel, False, "listed in manifest but missing"))
            continue
        actual = hash_file(path, rel)
        ok = actual.sha256 == entry["sha256"] and actual.size == entry["bytes"]
        detail = actual.sha256 if ok else f"expected {entry['sha256']}, found {actual.sha256}"
        checks.append(Check("sha256", prefix + rel, ok, detail))
    for rel in content_files(root):
        inside_nested = any((root / rel).is_relative_to(n) for n in nested)
        if rel not in listed and not inside_nested:
            checks.append(Check("unlisted", prefix + rel, False, "file not listed in manifest"))
    return checks


def _sums_check(root: Path, prefix: str, manifest: dict[str, Any]) -> Check:
    expected = "".join(f"{e['sha256']}  {e['path']}\n" for e in manifest["files"])
    try:
        actual = (root / SHA256SUMS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Check("sha256sums", prefix + SHA256SUMS, False, f"unreadable ({exc})")
    ok = actual == expected
    return Check("sha256sums", prefix + SHA256SUMS, ok, "agrees" if ok else "differs from manifest")


def _signature_checks(
    root: Path, prefix: str, manifest: dict[str, Any], data: bytes, trusted: str | None
) -> list[Check]:
    try:
        public_pem = (root / PUBLIC_KEY).read_bytes()
        signature = (root / SIGNATURE).read_bytes()
        valid = signature_valid(public_pem, data, signature, source=prefix + PUBLIC_KEY)
        actual = fingerprint(public_pem)
    except (OSError, SigningError) as exc:
        return [Check("signature", prefix + SIGNATURE, False, str(exc))]
    checks = [
        Check(
            "signature",
            prefix + SIGNATURE,
            valid,
            f"Ed25519 key {actual[:16]}…" if valid else "does not verify with public-key.pem",
        )
    ]
    named = manifest.get("key_fingerprint")
    checks.append(
        Check(
            "key",
            prefix + PUBLIC_KEY,
            named == actual and (trusted is None or trusted == actual),
            f"fingerprint {actual}"
            + ("" if named == actual else f" but manifest names {named}")
            + ("" if trusted in (None, actual) else f" but trusted key is {trusted}"),
        )
    )
    return checks


def _timestamp_checks(root: Path, prefix: str, manifest_bytes: bytes) -> list[Check]:
    tokens = sorted((root / TIMESTAMPS).glob("*.tsr"))
    if not tokens:
        return [Check("timestamp", prefix + TIMESTAMPS, False, "no RFC 3161 token: not sealed")]
    checks = []
    for token in tokens:
        rel = f"{prefix}{TIMESTAMPS}/{token.name}"
        ca = token.with_name(token.name.removesuffix(".tsr") + ".ca.pem")
        try:
            decoded = verify_token(token.read_bytes(), manifest_bytes, ca.read_bytes(), source=rel)
        except OSError as exc:
            checks.append(Check("timestamp", rel, False, f"unreadable token or CA ({exc})"))
            continue
        except TimestampError as exc:
            checks.append(Check("timestamp", rel, False, str(exc)))
            continue
        info = decoded.tst_info
        detail = f"{info.gen_time.isoformat()} serial {info.serial_number}"
        checks.append(Check("timestamp", rel, True, detail))
    return checks


def bundle_format(root: Path) -> int:
    """The bundle format its root manifest names (1: before custody anchors and time checks)."""
    try:
        subject = read_manifest(root).get("subject", {})
    except SealError:
        return BUNDLE_FORMAT
    value = subject.get("bundle_format", 1) if isinstance(subject, dict) else 1
    return value if isinstance(value, int) else 1


def _custody_check(root: Path, path: Path, trust: TrustAnchors, *, bundle: bool) -> Check:
    rel = path.relative_to(root).as_posix()
    try:
        entries = parse_log(path.read_bytes(), source=rel)
        problems = chain_problems(entries, source=rel)
        problems += anchor_problems(root, entries, trust, bundle=bundle)
    except CustodyError as exc:
        problems = [str(exc)]
    return Check("custody", rel, not problems, "; ".join(problems) or "chain intact, anchored")


def warc_checks(path: Path, rel: str) -> list[Check]:
    """Re-verify every record digest of one WARC file."""
    problems: list[str] = []
    records = 0
    try:
        with path.open("rb") as fh:
            iterator = ArchiveIterator(fh, check_digests=True)
            for record in iterator:
                stream = record.content_stream()
                while stream.read(1 << 20):
                    pass
                records += 1
                if record.digest_checker.passed is False:
                    rid = record.rec_headers.get_header("WARC-Record-ID")
                    problems.extend(f"{rid}: {p}" for p in record.digest_checker.problems)
    except (ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
        problems.append(f"unreadable WARC ({exc})")
    if records == 0 and not problems:
        problems.append("no WARC records")
    detail = "; ".join(problems) or f"{records} records, digests pass"
    return [Check("warc", rel, not problems, detail)]


def report_json(report: VerifyReport) -> str:
    """Machine-readable form of a report."""
    return json.dumps(
        {
            "source": report.source,
            "ok": report.ok,
            "anchored": report.anchored,
            "verdict": report.verdict,
            "checks": [c.__dict__ for c in report.checks],
        },
        indent=2,
        ensure_ascii=False,
    )

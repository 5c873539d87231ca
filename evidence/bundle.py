"""Export: one self-verifying zip per case, stored through a scheme-mapped backend.

Bundle layout (the whole tree is itself sealed: manifest.json, manifest.sig, timestamps/)::

    VERIFY.md, verify-all.sh               how to check everything with standard tools
    keys/<fingerprint>/                    the signing key's sealed, timestamped record
    findings/<id>/finding.json             client, character, platform, URL, match reasons
    findings/<id>/references/…             the client's reference images
    findings/<id>/captures/<capture>/…     each sealed capture exactly as sealed
    findings/<id>/finding-<id>.wacz        the captures' WARCs for ReplayWeb.page
    findings/<id>/custody.jsonl            the finding's custody chain, ending with this export's
                                       anchor (its head timestamped); the ``exported`` entry
                                       follows in the case file once the zip is complete
    findings/<id>/report.html|.pdf         the bilingual court report

Storage: :data:`STORAGES` maps a URI scheme to a backend (``file://`` or a plain path now).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from evidence import ledger
from evidence.anchors import anchor_finding
from evidence.custody import CUSTODY_LOG, CustodyAction, write_log
from evidence.exceptions import BundleError
from evidence.facts import finding_facts
from evidence.keyrecord import copy_record
from evidence.pagefacts import features_of_capture
from evidence.paths import resolve_stored
from evidence.report import ReportInput, render_reports
from evidence.seal import canonical_json, is_sealed, seal_with
from evidence.settings import EvidenceSettings
from evidence.store import Store
from evidence.verify import BUNDLE_FORMAT
from evidence.verify_text import VerifyFacts, write_verify_files
from evidence.wacz import WaczPage, write_wacz


class BundleStorage(Protocol):
    """Where finished bundles go."""

    def put(self, source: Path) -> str:
        """Store the finished zip ``source``; return its URI."""
        ...


class FileStorage:
    """A local file path (``file:///abs/case.zip`` or ``case.zip``)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    @classmethod
    def from_uri(cls, uri: str) -> FileStorage:
        parts = urlsplit(uri)
        return cls(Path(unquote(parts.path)) if parts.scheme == "file" else Path(uri))

    def put(self, source: Path) -> str:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.target.with_name(f".{self.target.name}.part")
        shutil.copyfile(source, tmp)
        tmp.replace(self.target)
        return self.target.resolve().as_uri()


STORAGES: dict[str, Callable[[str], BundleStorage]] = {"file": FileStorage.from_uri}


def storage_for(destination: str) -> BundleStorage:
    scheme = urlsplit(destination).scheme if "://" in destination else "file"
    factory = STORAGES.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in sorted(STORAGES))
        raise BundleError(f"{destination}: unsupported bundle destination (known: {known})")
    return factory(destination)


@dataclass(frozen=True)
class ExportResult:
    uri: str
    manifest_sha256: str
    findings: tuple[int, ...]
    files: int
    sha256: str
    reports: tuple[str, ...] = ()  # the court reports copied out (``reports_to``)


def export_bundle(
    store: Store,
    finding_ids: Sequence[int],
    destination: str,
    settings: EvidenceSettings,
    *,
    report: bool = True,
    reports_to: Path | None = None,
) -> ExportResult:
    """Write a sealed, self-verifying case bundle for ``finding_ids`` to ``destination``.

    With ``reports_to``, each finding's court report (the sealed HTML and PDF in the bundle) is
    also copied there as ``finding-<id>-report.html|.pdf``, from the staged bundle, so the
    caller does not open the zip it was just given."""
    if not finding_ids:
        raise BundleError(f"{destination}: no finding to export")
    storage = storage_for(destination)
    sealing = settings.sealing()
    name = Path(urlsplit(destination).path).name or "case.zip"
    _check_exportable(store, finding_ids)
    for finding_id in finding_ids:  # the chain's head, timestamped: nothing before it can change
        anchor_finding(
            store, finding_id, sealing.timestampers, actor=settings.operator, purpose="export",
            always=True, details={"bundle": name},
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rw-export-") as tmp:
        root = Path(tmp) / "bundle"
        root.mkdir()
        inputs = [
            _stage_finding(store, fid, root, settings, sealing.signer.fingerprint)
            for fid in finding_ids
        ]
        copy_record(settings, sealing, root)
        if report:
            render_reports(inputs, settings)
        write_verify_files(
            root,
            VerifyFacts(name, finding_ids, sealing.signer.fingerprint, settings.tsa_urls,
                        settings.time_tolerance_s),
        )  # fmt: skip
        subject = {"bundle": name, "findings": list(finding_ids), "operator": settings.operator,
                   "bundle_format": BUNDLE_FORMAT}  # fmt: skip
        record = seal_with(root, sealing, subject)
        reports = _copy_reports(root, finding_ids, reports_to) if report and reports_to else ()
        zip_path = Path(tmp) / name
        files = _zip(root, zip_path)
        digest = _sha256(zip_path)
        uri = storage.put(zip_path)
    # recorded only once the zip is complete and stored, with what was stored
    with store.session() as session:
        for finding_id in finding_ids:
            ledger.record(
                session, CustodyAction.EXPORTED, actor=settings.operator, finding_id=finding_id,
                details={"bundle": name, "uri": uri, "sha256": digest, "files": files,
                         "manifest_sha256": record.manifest_sha256},
            )  # fmt: skip
    return ExportResult(uri, record.manifest_sha256, tuple(finding_ids), files, digest, reports)


def _copy_reports(root: Path, finding_ids: Sequence[int], target: Path) -> tuple[str, ...]:
    """Each finding's sealed court report, copied from the staged bundle into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    copied: list[str] = []
    for finding_id in finding_ids:
        for suffix in (".pdf", ".html"):
            source = root / "findings" / str(finding_id) / f"report{suffix}"
            if source.is_file():
                out = target / f"finding-{finding_id}-report{suffix}"
                shutil.copyfile(source, out)
                copied.append(str(out))
    return tuple(copied)


def _check_exportable(store: Store, finding_ids: Sequence[int]) -> None:
    """Every finding exists and has sealed evidence, before anything is recorded."""
    with store.session() as session:
        for finding_id in finding_ids:
            facts = finding_facts(session, finding_id)
            if not any(c["status"] in facts["sealed_statuses"] for c in facts["captures"]):
                raise BundleError(
                    f"finding {finding_id}: no sealed capture to export; capture it first"
                )


def _stage_finding(
    store: Store, finding_id: int, root: Path, settings: EvidenceSettings, key_fingerprint: str
) -> ReportInput:
    base = root / "findings" / str(finding_id)
    (base / "captures").mkdir(parents=True)
    with store.session() as session:
        facts = finding_facts(session, finding_id)
        chain = ledger.chain(session, finding_id=finding_id)
    warcs = []
    pages = []
    for cap in facts["captures"]:
        if cap["status"] not in facts["sealed_statuses"] or not cap["directory"]:
            continue
        source = resolve_stored(cap["directory"], settings.folder)
        if not is_sealed(source):
            raise BundleError(f"{source}: capture {cap['id']} is recorded sealed but is not")
        target = base / "captures" / source.name
        shutil.copytree(source, target)
        if (target / "traffic.warc.gz").is_file():
            warcs.append((f"{source.name}.warc.gz", target / "traffic.warc.gz"))
            pages.append(
                WaczPage(
                    url=cap["url"],
                    ts=datetime.fromisoformat(cap["started_at"]),
                    title=f"Capture {source.name} ({cap['status']})",
                    id=source.name,
                )
            )
    if not warcs:
        raise BundleError(f"finding {finding_id}: no sealed capture to export; capture it first")
    for listing in facts["placement_captures"]:  # prominence: the listing, sealed and framed
        source = resolve_stored(str(listing["directory"]), settings.folder)
        if not is_sealed(source):
            raise BundleError(f"{source}: listing capture {listing['id']} is not sealed")
        shutil.copytree(source, base / "placement" / source.name)
    facts["references_in_bundle"] = _copy_references(facts, base / "references")
    latest = sorted((base / "captures").iterdir())[-1] if warcs else None
    facts["commercial_features"] = {
        "capture": latest.name if latest else None,
        "features": features_of_capture(latest) if latest else [],
    }
    facts["key_fingerprint"] = key_fingerprint
    (base / "finding.json").write_bytes(canonical_json(facts))
    write_log(base / CUSTODY_LOG, chain)
    title = f"Finding {finding_id}: {facts['character']['name']} on {facts['platform']['name']}"
    write_wacz(base / f"finding-{finding_id}.wacz", warcs, pages, title=title)
    return ReportInput(finding_id, base, facts, [e.__dict__ for e in chain])


def _copy_references(facts: dict[str, object], target: Path) -> list[dict[str, object]]:
    target.mkdir(parents=True, exist_ok=True)
    copied: list[dict[str, object]] = []
    references = facts["references"]
    assert isinstance(references, list)
    for ref in references:
        source = Path(str(ref["path"]))
        entry: dict[str, object] = {"id": ref["id"], "sha256": ref["sha256"]}
        try:
            data = source.read_bytes()
        except OSError as exc:
            entry["problem"] = f"{source}: unreadable ({exc.strerror})"
            copied.append(entry)
            continue
        actual = hashlib.sha256(data).hexdigest()
        if actual != ref["sha256"]:
            entry["problem"] = f"{source}: content changed since it was added (sha256 {actual})"
        name = f"{str(ref['sha256'])[:12]}-{source.name}"
        (target / name).write_bytes(data)
        entry["file"] = f"references/{name}"
        copied.append(entry)
    return copied


def _zip(root: Path, out: Path) -> int:
    count = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stored = path.suffix in {".gz", ".png", ".pdf", ".wacz", ".zip", ".jpg"}
                archive.write(
                    path,
                    path.relative_to(root).as_posix(),
                    compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
                )
                count += 1
    return count


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

"""The key record: the operator's public key fingerprint, timestamped, kept in the case file.

``rightswatch keys init`` (or ``keys record`` for an existing key) writes
``<evidence folder>/keys/<fingerprint>/``: ``key.json`` (fingerprint, algorithm, how the
fingerprint is computed, operator) and ``public-key.pem``, sealed like a capture, so a TSA
states when the key existed. Every export copies it to the bundle's ``keys/<fingerprint>/``.
The fingerprint is what an opposing expert compares with a copy published outside the bundle
(the notice sent to the platform, the report): ``rightswatch verify --key-fingerprint``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evidence.exceptions import SealError
from evidence.seal import SealConfig, canonical_json, is_sealed, read_manifest, seal_with
from evidence.settings import EvidenceSettings

KEYS_DIR = "keys"
KEY_FILE = "key.json"
FINGERPRINT_METHOD = "SHA-256 of the raw 32-byte Ed25519 public key, hex"


@dataclass(frozen=True)
class KeyRecord:
    """A sealed key record and the TSA time(s) its seal carries."""

    fingerprint: str
    directory: Path
    manifest_sha256: str | None
    tsa_times: tuple[str, ...]


def key_dir(folder: Path, fingerprint: str) -> Path:
    return folder / KEYS_DIR / fingerprint


def read_record(directory: Path) -> KeyRecord:
    """A sealed key record's fingerprint and times (raises :class:`SealError` if unsealed)."""
    if not is_sealed(directory):
        raise SealError(f"{directory}: not a sealed key record")
    info = json.loads((directory / KEY_FILE).read_bytes())
    read_manifest(directory)
    times = tuple(sorted(p.name for p in (directory / "timestamps").glob("*.tsr")))
    return KeyRecord(str(info["fingerprint"]), directory, None, times)


def record_key(settings: EvidenceSettings, sealing: SealConfig | None = None) -> KeyRecord:
    """Seal a record of the signing key's fingerprint (once per key; later calls reuse it)."""
    sealing = sealing or settings.sealing()
    fp = sealing.signer.fingerprint
    target = key_dir(settings.folder, fp)
    if is_sealed(target):
        return read_record(target)
    work = target.with_name(f".tmp-{fp}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        (work / KEY_FILE).write_bytes(
            canonical_json(
                {
                    "fingerprint": fp,
                    "algorithm": "Ed25519",
                    "fingerprint_method": FINGERPRINT_METHOD,
                    "operator": settings.operator,
                    "recorded_utc": datetime.now(UTC).isoformat(),
                }
            )
        )
        seal = seal_with(work, sealing, {"purpose": "key record", "key_fingerprint": fp})
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    times = tuple(t.gen_time.isoformat() for t in seal.tokens)
    return KeyRecord(fp, target, seal.manifest_sha256, times)


def recorded_fingerprints(folder: Path) -> list[str]:
    """Fingerprints of every sealed key record in an evidence folder."""
    base = folder / KEYS_DIR
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if is_sealed(p))


def copy_record(settings: EvidenceSettings, sealing: SealConfig, bundle_root: Path) -> Path:
    """Put the signing key's record (made now if missing) into a bundle's ``keys/``."""
    record = record_key(settings, sealing)
    target = bundle_root / KEYS_DIR / record.fingerprint
    shutil.copytree(record.directory, target)
    return target

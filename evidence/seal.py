"""Sealing a capture directory: SHA-256 manifest, Ed25519 signature, RFC 3161 tokens.

A directory is *sealed* only when all of these are present (fail closed):

    manifest.json        every other file with its SHA-256 and size (public-key.pem included)
    sha256sums.txt       the same digests in `sha256sum -c` format (checked against the manifest)
    manifest.sig         raw Ed25519 signature of manifest.json (see signing.py)
    public-key.pem       the operator's public key
    timestamps/*.tsr     at least one RFC 3161 response over manifest.json, each verified against
                         its TSA CA (timestamps/*.ca.pem) before it was accepted

Files are hashed as they are written (:class:`HashingFile`, :class:`ArtifactWriter`); every
write is atomic (temp file + rename), so a crash leaves either the old file or the new one.
Legal basis for each element: research/evidence.md §3.4 items 1, 4, 5.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

from evidence.exceptions import SealError, TimestampError
from evidence.signing import Signer
from evidence.timestamp import Timestamper, TimestampToken

MANIFEST = "manifest.json"
SHA256SUMS = "sha256sums.txt"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public-key.pem"
TIMESTAMPS = "timestamps"
MANIFEST_FORMAT = "rightswatch-manifest/1"
SEAL_FILES = frozenset({MANIFEST, SHA256SUMS, SIGNATURE})
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    """SHA-256 (hex) and size in bytes of one file, by its path relative to the sealed root."""

    path: str
    sha256: str
    size: int


def hash_file(path: Path, relative: str) -> FileDigest:
    """Stream ``path`` through SHA-256."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise SealError(f"{path}: cannot read for hashing ({exc.strerror})") from exc
    return FileDigest(relative, digest.hexdigest(), size)


def write_atomic(path: Path, data: bytes) -> FileDigest:
    """Write ``data`` to ``path`` via a temp file and rename; return its digest."""
    with HashingFile(path) as fh:
        fh.write(data)
    return fh.result(path.name)


class HashingFile:
    """A binary file opened for writing that hashes every byte written to it.

    Written to ``.<name>.part`` and renamed over ``path`` on a clean close; on error the
    partial file is removed, so readers never see half a file under its final name.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(f".{path.name}.part")
        self._digest = hashlib.sha256()
        self._size = 0
        self._fh: BinaryIO | None = None
        self._closed = False

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self._tmp.open("wb")
        return self

    def write(self, data: bytes) -> int:
        if self._fh is None:
            raise SealError(f"{self.path}: write outside of `with`")
        self._digest.update(data)
        self._size += len(data)
        return self._fh.write(data)

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._fh is not None
        if exc_type is None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        self._fh.close()
        if exc_type is None:
            self._tmp.replace(self.path)
            self._closed = True
        else:
            self._tmp.unlink(missing_ok=True)

    def result(self, relative: str) -> FileDigest:
        """The digest of what was written (only after a clean close)."""
        if not self._closed:
            raise SealError(f"{self.path}: digest requested before the file was closed")
        return FileDigest(relative, self._digest.hexdigest(), self._size)


@dataclass
class ArtifactWriter:
    """Writes artifacts under ``root`` and remembers the digest of each, computed while written."""

    root: Path
    digests: dict[str, FileDigest] = field(default_factory=dict)

    def write_bytes(self, relative: str, data: bytes) -> FileDigest:
        digest = write_atomic(self.root / relative, data)
        self.digests[relative] = FileDigest(relative, digest.sha256, digest.size)
        return self.digests[relative]

    def write_json(self, relative: str, value: Any) -> FileDigest:
        return self.write_bytes(relative, canonical_json(value))

    @contextmanager
    def open(self, relative: str) -> Iterator[HashingFile]:
        with HashingFile(self.root / relative) as fh:
            yield fh
        self.digests[relative] = fh.result(relative)


def canonical_json(value: Any) -> bytes:
    """Stable, human-readable JSON (sorted keys, UTF-8, trailing newline)."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return (text + "\n").encode("utf-8")


def is_seal_file(relative: str) -> bool:
    """True for the files a seal adds on top of the manifest's content."""
    return relative in SEAL_FILES or relative.startswith(f"{TIMESTAMPS}/")


def content_files(root: Path) -> list[str]:
    """Relative POSIX paths of every file that a manifest of ``root`` must list, sorted."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            relative = path.relative_to(root).as_posix()
            if not is_seal_file(relative) and not path.name.endswith(".part"):
                found.append(relative)
    return found


@dataclass(frozen=True)
class SealRecord:
    """What sealing produced: the manifest digest, signer and accepted tokens."""

    root: Path
    manifest_sha256: str
    key_fingerprint: str
    tokens: tuple[TimestampToken, ...]
    failures: tuple[str, ...]
    files: tuple[FileDigest, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest_sha256": self.manifest_sha256,
            "key_fingerprint": self.key_fingerprint,
            "timestamps": [
                {
                    "tsa": t.tsa_url,
                    "gen_time": t.gen_time.isoformat(),
                    "serial": str(t.serial_number),
                    "policy": t.policy,
                    "local_clock": t.local_time.isoformat() if t.local_time else None,
                    "clock_offset_s": t.clock_offset_s,
                    "accuracy_s": t.accuracy_s,
                }
                for t in self.tokens
            ],
            "timestamp_failures": list(self.failures),
            "files": len(self.files),
        }


@dataclass(frozen=True)
class SealConfig:
    """Who signs and which TSAs stamp; ``min_tokens`` verified tokens are required."""

    signer: Signer
    timestampers: tuple[Timestamper, ...]
    min_tokens: int = 1


def seal_with(
    root: Path,
    config: SealConfig,
    subject: Mapping[str, Any],
    known: Mapping[str, FileDigest] | None = None,
) -> SealRecord:
    """:func:`seal_directory` with a :class:`SealConfig`."""
    return seal_directory(
        root,
        signer=config.signer,
        timestampers=config.timestampers,
        subject=subject,
        known=known,
        min_tokens=config.min_tokens,
    )


def seal_directory(
    root: Path,
    *,
    signer: Signer,
    timestampers: Sequence[Timestamper],
    subject: Mapping[str, Any],
    known: Mapping[str, FileDigest] | None = None,
    min_tokens: int = 1,
) -> SealRecord:
    """Seal ``root``: manifest, checksums, signature, then one token per TSA.

    ``known`` holds digests computed while artifacts were written; any other file is hashed
    now. Raises :class:`SealError` (after removing the partial seal) when fewer than
    ``min_tokens`` tokens verify, so an unsealed directory never looks sealed.
    """
    if not timestampers:
        raise SealError(f"{root}: no timestamp authority configured; refusing to seal")
    known = dict(known or {})
    known[PUBLIC_KEY] = write_atomic(root / PUBLIC_KEY, signer.public_pem)
    files = tuple(_digest_for(root, rel, known) for rel in content_files(root))
    manifest = canonical_json(
        {
            "format": MANIFEST_FORMAT,
            "algorithm": "sha256",
            "created": datetime.now(UTC).isoformat(),
            "subject": dict(subject),
            "key_fingerprint": signer.fingerprint,
            "files": [{"path": f.path, "sha256": f.sha256, "bytes": f.size} for f in files],
        }
    )
    manifest_digest = write_atomic(root / MANIFEST, manifest)
    write_atomic(root / SHA256SUMS, sha256sums(files))
    write_atomic(root / SIGNATURE, signer.sign(manifest))
    tokens: list[TimestampToken] = []
    failures: list[str] = []
    for stamper in timestampers:
        try:
            token = stamper.stamp(manifest)
        except TimestampError as exc:
            failures.append(str(exc))
            continue
        write_token(root, token)
        tokens.append(token)
    if len(tokens) < min_tokens:
        unseal(root)
        detail = "; ".join(failures) or "no token"
        raise SealError(f"{root}: not sealed, {len(tokens)}/{min_tokens} timestamps ({detail})")
    return SealRecord(
        root, manifest_digest.sha256, signer.fingerprint, tuple(tokens), tuple(failures), files
    )


def _digest_for(root: Path, relative: str, known: Mapping[str, FileDigest]) -> FileDigest:
    digest = known.get(relative)
    if digest is not None and (root / relative).stat().st_size == digest.size:
        return digest
    return hash_file(root / relative, relative)


def sha256sums(files: Sequence[FileDigest]) -> bytes:
    """``sha256sum -c`` input for ``files``."""
    return "".join(f"{f.sha256}  {f.path}\n" for f in files).encode("utf-8")


def write_token(root: Path, token: TimestampToken) -> None:
    """Store a token as ``timestamps/<tsa>.tsr`` with its CA and signer certificates."""
    base = root / TIMESTAMPS
    base.mkdir(exist_ok=True)
    write_atomic(base / f"{token.name}.ca.pem", token.ca_pem)
    if token.signer_certs_pem:
        write_atomic(base / f"{token.name}.certs.pem", token.signer_certs_pem)
    write_atomic(base / f"{token.name}.tsr", token.response)


def unseal(root: Path) -> None:
    """Remove seal files (used when sealing fails part-way)."""
    for name in (SIGNATURE, MANIFEST, SHA256SUMS):
        (root / name).unlink(missing_ok=True)
    tsa_dir = root / TIMESTAMPS
    if tsa_dir.is_dir():
        for path in tsa_dir.iterdir():
            path.unlink()
        tsa_dir.rmdir()


def is_sealed(root: Path) -> bool:
    """Presence check: manifest, checksums, signature, key and at least one token.

    This says a seal is *present*; :mod:`evidence.verify` says whether it is *valid*.
    """
    if root.name.startswith("."):
        return False
    required = (MANIFEST, SHA256SUMS, SIGNATURE, PUBLIC_KEY)
    if not all((root / name).is_file() for name in required):
        return False
    return any((root / TIMESTAMPS).glob("*.tsr"))


def read_manifest(root: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` of a sealed directory."""
    path = root / MANIFEST
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SealError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(value, dict) or value.get("format") != MANIFEST_FORMAT:
        raise SealError(f"{path}: not a {MANIFEST_FORMAT} manifest")
    return value

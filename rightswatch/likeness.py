"""The likeness engine as the product uses it: fingerprints stored in the case file, one
engine for the crawler and ``rightswatch scan``, and the scan of local files.

Reference fingerprints (``matching.fingerprint_reference``) live in
``ReferenceImage.fingerprint`` and are rebuilt only when the image's SHA-256 or the fingerprint
format version changes (:func:`refresh_fingerprints`). :func:`load_engine` builds an
:class:`matching.Engine` from the config's characters and the stored fingerprints.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from evidence.models import Character, Client, ReferenceImage
from evidence.store import Store
from matching import (
    FINGERPRINT_VERSION,
    NO_MATCH,
    CandidateEvidence,
    CharacterProfile,
    Engine,
    MatchingError,
    ReferenceFingerprint,
    Thresholds,
    Verdict,
    fingerprint_reference,
    read_safetensors_header,
)
from matching.index import limit_threads
from rightswatch.config import WatchConfig
from rightswatch.errors import LibraryError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
MODEL_SUFFIXES = frozenset({".safetensors"})
VERSION_TAG = f"matching-{FINGERPRINT_VERSION}"
POOL_FROM = 200


def fingerprint_file(path: Path, character: str, data: bytes | None = None) -> dict[str, Any]:
    """The fingerprint JSON of a reference image file (LibraryError naming it if it fails)."""
    try:
        raw = path.read_bytes() if data is None else data
        return fingerprint_reference(raw, name=path.name, character=character).to_json()
    except OSError as exc:
        raise LibraryError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except MatchingError as exc:
        raise LibraryError(str(path), exc.message) from exc


def refresh_fingerprints(
    store: Store, *, progress: Callable[[str], None] | None = None
) -> list[LibraryError]:
    """Rebuild every missing or outdated fingerprint; problems are returned, not raised."""
    errors: list[LibraryError] = []
    with store.session() as session:
        rows = session.scalars(select(ReferenceImage)).all()
        for row in rows:
            stored = row.fingerprint or {}
            if row.fingerprint_version == VERSION_TAG and stored.get("sha256") == row.sha256:
                continue
            if progress is not None:
                progress(row.path)
            path = Path(row.path)
            try:
                data = path.read_bytes()
            except OSError as exc:
                errors.append(LibraryError(row.path, f"cannot read: {exc.strerror or exc}"))
                continue
            try:
                row.fingerprint = fingerprint_file(path, row.character.name, data)
            except LibraryError as exc:
                errors.append(exc)
                continue
            if row.fingerprint.get("sha256") != row.sha256:
                errors.append(LibraryError(row.path, "file changed since it was added"))
                row.fingerprint = None
                continue
            row.fingerprint_version = VERSION_TAG
    return errors


def character_profiles(config: WatchConfig) -> list[CharacterProfile]:
    return [
        CharacterProfile(
            c.name,
            {lang: tuple(names) for lang, names in c.aliases.items()},
            tuple(c.allowlist),
        )
        for c in config.characters
    ]


def engine_thresholds(config: WatchConfig) -> Thresholds:
    return Thresholds(flag=config.thresholds.flag, review=config.thresholds.review)


def stored_fingerprints(store: Store, config: WatchConfig) -> list[dict[str, Any]]:
    """Fingerprint JSON of every reference of the config's characters."""
    names = [c.name for c in config.characters]
    with store.session() as session:
        rows = session.scalars(
            select(ReferenceImage)
            .join(Character, ReferenceImage.character_id == Character.id)
            .join(Client, Character.client_id == Client.id)
            .where(Client.name == config.client.name, Character.name.in_(names))
            .where(ReferenceImage.fingerprint_version == VERSION_TAG)
            .order_by(ReferenceImage.id)
        ).all()
        return [dict(r.fingerprint) for r in rows if r.fingerprint]


def load_engine(store: Store, config: WatchConfig) -> Engine:
    """The engine over the config's characters and their stored fingerprints (refreshed)."""
    refresh_fingerprints(store)
    return build_engine(
        character_profiles(config), stored_fingerprints(store, config), engine_thresholds(config)
    )


def build_engine(
    profiles: Sequence[CharacterProfile], fingerprints: Iterable[dict[str, Any]], th: Thresholds
) -> Engine:
    return Engine(profiles, [ReferenceFingerprint.from_json(f) for f in fingerprints], th)


@dataclass(frozen=True)
class ScanResult:
    """The outcome for one scanned file: its best verdict, or the error that stopped it."""

    path: str
    verdict: Verdict | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "path": self.path,
            "decision": v.decision.value if v else None,
            "character": v.character if v else None,
            "reference": v.reference if v else None,
            "score": round(v.score, 4) if v else None,
            "reasons": [r.sentence for r in v.reasons] if v else [],
            "error": self.error,
        }


def iter_scan_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus images and .safetensors found below named folders."""
    wanted = IMAGE_SUFFIXES | MODEL_SUFFIXES
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in wanted
            )
        else:
            found.append(path)
    return found


def candidate_for(path: Path) -> CandidateEvidence:
    """What a local file tells: image pixels, or a LoRA header; the file name either way."""
    if path.suffix.lower() in MODEL_SUFFIXES:
        header = read_safetensors_header(path)
        return CandidateEvidence(
            label=str(path), file_names=(path.name,), lora_metadata=header.metadata
        )
    return CandidateEvidence(
        label=str(path),
        images=(path.read_bytes(),),
        image_names=(str(path),),
        file_names=(path.name,),
    )


def scan_one(engine: Engine, path: Path) -> ScanResult:
    """Judge one file; a bad file becomes an error result, never an exception."""
    try:
        verdicts = engine.judge(candidate_for(path))
    except MatchingError as exc:
        return ScanResult(str(path), None, str(exc))
    except OSError as exc:
        return ScanResult(str(path), None, f"{path}: cannot read: {exc.strerror or exc}")
    return ScanResult(str(path), verdicts[0] if verdicts else NO_MATCH)


_WORKER_ENGINE: list[Engine] = []


def _worker_init(
    profiles: Sequence[CharacterProfile], fingerprints: list[dict[str, Any]], th: Thresholds
) -> None:
    limit_threads(1)
    _WORKER_ENGINE.append(build_engine(profiles, fingerprints, th))


def _worker_scan(path: str) -> ScanResult:
    return scan_one(_WORKER_ENGINE[0], Path(path))


def scan_files(
    files: Sequence[Path],
    profiles: Sequence[CharacterProfile],
    fingerprints: list[dict[str, Any]],
    thresholds: Thresholds,
    *,
    workers: int = 0,
) -> Iterator[ScanResult]:
    """Judge every file, in order; ``workers`` > 1 spreads the work over processes.

    ``workers=0`` chooses: one process below ``POOL_FROM`` files (starting a worker imports
    OpenCV, faiss and the engine again, which costs more than it saves on small scans), else up
    to two.
    """
    count = workers or (min(2, os.cpu_count() or 1) if len(files) >= POOL_FROM else 1)
    if count <= 1 or len(files) <= 1:
        engine = build_engine(profiles, fingerprints, thresholds)
        for path in files:
            yield scan_one(engine, path)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=count,
        mp_context=context,
        initializer=_worker_init,
        initargs=(list(profiles), fingerprints, thresholds),
    ) as pool:
        yield from pool.map(_worker_scan, [str(p) for p in files], chunksize=4)

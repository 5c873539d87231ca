"""The likeness engine as ``rightswatch scan`` uses it: local files judged by the one engine.

The engine is built by :mod:`crawler.engine_builder` for the crawl and the scan alike
(characters and fingerprints from the case file, flagged LoRAs, thresholds from watch.toml);
fingerprints are kept fresh there too (:func:`refresh_fingerprints`). Here: which files a scan
reads, what each file tells the engine, and one file's scan (:mod:`rightswatch.scanpool` runs
many, in one process or a pool of workers that pay their start-up once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.engine_builder import (
    VERSION_TAG,
    EngineSpec,
    engine_spec,
    fingerprint_file,
    refresh_fingerprints,
)
from evidence.store import Store
from matching import (
    NO_MATCH,
    CandidateEvidence,
    Engine,
    MatchingError,
    Subject,
    Verdict,
    read_safetensors_header,
)
from rightswatch.config import WatchConfig
from rightswatch.crawling import match_options
from rightswatch.library import mirror_characters

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
MODEL_SUFFIXES = frozenset({".safetensors"})

__all__ = [
    "VERSION_TAG",
    "ScanResult",
    "candidate_for",
    "fingerprint_file",
    "iter_scan_files",
    "refresh_fingerprints",
    "scan_one",
    "scan_spec",
]


def scan_spec(store: Store, config: WatchConfig) -> EngineSpec:
    """The engine spec for ``config``: its characters mirrored into the case file first, so a
    scan sees the aliases watch.toml says now."""
    mirror_characters(store, config)
    return engine_spec(store, match_options(config))


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
    """What a local file tells: image pixels (and the provenance the file carries), or a LoRA
    header; the file name either way."""
    if path.suffix.lower() in MODEL_SUFFIXES:
        header = read_safetensors_header(path)
        return CandidateEvidence(
            label=str(path),
            subject=Subject.MODEL,
            file_names=(path.name,),
            lora_metadata=header.metadata,
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

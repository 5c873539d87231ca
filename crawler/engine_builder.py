"""The one place the product builds its likeness engine (crawl and ``rightswatch scan`` alike).

``matching`` is a pure library: the caller hands it characters, reference fingerprints and the
LoRAs already flagged. This module is that caller, for every entry point:

* :func:`refresh_fingerprints` keeps the stored fingerprints current: a reference whose image
  SHA-256 or fingerprint format version changed is fingerprinted again and stored (the only
  place fingerprints are rebuilt);
* :func:`engine_spec` reads what the engine needs from the case file: the client's characters
  (name, aliases), the stored fingerprints, the model candidates with a flagged finding (their
  file hashes, version ids and names, so that images generated with them are linked), plus what
  only the configuration knows (thresholds, licensed creators: :class:`crawler.plan.MatchOptions`);
* :func:`build_engine` turns that (picklable) spec into an engine; scan workers call it too;
* :func:`load_engine` does both, or says why there is no engine (no characters): the crawl then
  stores candidates without verdicts and says so in its stats; it never invents a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.plan import MatchOptions
from evidence.kinds import FindingStatus
from evidence.queries.references import (
    FlaggedModel,
    characters,
    current_fingerprints,
    flagged_models,
    save_fingerprints,
    stored_references,
)
from evidence.store import Store
from matching import (
    FINGERPRINT_VERSION,
    CharacterProfile,
    EmbeddingModel,
    Engine,
    KnownLora,
    MatchingError,
    Normalisation,
    ReferenceFingerprint,
    Thresholds,
    decode_image,
    fingerprint_reference,
)
from matching.hashes import U8Array

VERSION_TAG = f"matching-{FINGERPRINT_VERSION}"
"""``ReferenceImage.fingerprint_version`` of a current fingerprint."""
WEAK_HASH_KINDS = frozenset({"crc32", "autov1"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
MAX_INNOCENT = 500
"""Innocent images read to calibrate the embedding."""
"""Civitai hash kinds too short or too weak to link an image to a LoRA."""


@dataclass(frozen=True)
class FingerprintProblem:
    """A reference whose fingerprint could not be (re)built, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class EngineSpec:
    """Everything an engine is built from; plain data, so it crosses to worker processes."""

    profiles: tuple[CharacterProfile, ...]
    fingerprints: tuple[Mapping[str, Any], ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    known_loras: tuple[KnownLora, ...] = ()
    problems: tuple[str, ...] = ()
    embedding_model: str | None = None
    embedding_normalisation: str = "imagenet"
    embedding_innocent: str | None = None


@dataclass(frozen=True)
class EngineLoad:
    engine: Engine | None
    note: str  # what was loaded, or why nothing was


def fingerprint_file(path: Path, character: str, data: bytes | None = None) -> dict[str, Any]:
    """The fingerprint JSON of a reference image file (decoded once).

    Raises ``OSError`` if the file cannot be read and ``MatchingError`` if it is no image.
    """
    raw = path.read_bytes() if data is None else data
    return fingerprint_reference(raw, name=path.name, character=character).to_json()


def refresh_fingerprints(
    store: Store, *, progress: Callable[[str], None] | None = None
) -> list[FingerprintProblem]:
    """Rebuild every missing or outdated fingerprint; problems are returned, not raised."""
    problems: list[FingerprintProblem] = []
    updates: dict[int, tuple[Mapping[str, Any] | None, str | None]] = {}
    for row in stored_references(store):
        stored = row.fingerprint or {}
        if row.version == VERSION_TAG and stored.get("sha256") == row.sha256:
            continue
        if progress is not None:
            progress(row.path)
        try:
            fingerprint = fingerprint_file(Path(row.path), row.character)
        except OSError as exc:
            problems.append(FingerprintProblem(row.path, f"cannot read: {exc.strerror or exc}"))
            continue
        except MatchingError as exc:
            problems.append(FingerprintProblem(row.path, exc.message))
            continue
        if fingerprint.get("sha256") != row.sha256:
            problems.append(FingerprintProblem(row.path, "file changed since it was added"))
            updates[row.id] = (None, None)
            continue
        updates[row.id] = (fingerprint, VERSION_TAG)
    save_fingerprints(store, updates)
    return problems


def engine_spec(store: Store, options: MatchOptions) -> EngineSpec:
    """What the engine for ``options`` is built from, read from the case file (refreshed)."""
    problems = [str(p) for p in refresh_fingerprints(store)]
    rows = characters(store, options.client)
    ids = {c.id: c.name for c in rows}
    profiles = tuple(
        CharacterProfile(
            name=c.name,
            aliases={k: tuple(v) for k, v in c.aliases.items()},
            allowlisted_creators=tuple(options.allowlists.get(c.name, ())),
        )
        for c in rows
    )
    fingerprints = tuple(current_fingerprints(store, list(ids), VERSION_TAG))
    known = tuple(_known_lora(model) for model in flagged_models(store, ids))
    thresholds = Thresholds(
        flag=options.flag, review=options.review, provenance_alone=options.provenance_alone
    )
    return EngineSpec(
        profiles,
        fingerprints,
        thresholds,
        known,
        tuple(problems),
        embedding_model=options.embedding_model,
        embedding_normalisation=options.embedding_normalisation,
        embedding_innocent=options.embedding_innocent,
    )


def _known_lora(model: FlaggedModel) -> KnownLora:
    """A flagged model candidate as the engine links images to it."""
    crawl = model.crawl
    files = [f for f in crawl.get("files") or [] if isinstance(f, Mapping)]
    hashes: list[str] = []
    names = [model.title] if model.title else []
    for f in files:
        if isinstance(f.get("sha256"), str):
            hashes.append(f["sha256"].lower())
        for kind, value in (f.get("hashes") or {}).items():
            if isinstance(value, str) and str(kind).lower() not in WEAK_HASH_KINDS:
                hashes.append(value.lower())
        if isinstance(f.get("name"), str):
            names.append(f["name"])
    for header in crawl.get("safetensors") or []:
        output = ((header or {}).get("metadata") or {}).get("ss_output_name")
        if isinstance(output, str):
            names.append(output)
    versions = [int(v) for v in crawl.get("version_ids") or [] if str(v).isdigit()]
    status = "" if model.status is FindingStatus.NEW else f", {model.status.value}"
    return KnownLora(
        character=model.character,
        label=f"{model.kind.value} {model.external_id} '{model.title}'"
        if model.title
        else f"{model.kind.value} {model.external_id}",
        names=tuple(dict.fromkeys(names)),
        hashes=tuple(dict.fromkeys(hashes)),
        model_version_ids=tuple(versions),
        trigger_words=tuple(str(w) for w in crawl.get("trigger_words") or []),
        finding=f"finding {model.finding_id}, score {model.score:.2f}{status}",
    )


def build_engine(spec: EngineSpec) -> Engine:
    """The engine over ``spec`` (every entry point builds it here).

    Raises ``EmbeddingModelError`` naming the file when a configured embedding model cannot be
    loaded (a configured signal is never dropped silently).
    """
    references: list[ReferenceFingerprint] = []
    for fingerprint in spec.fingerprints:
        references.append(ReferenceFingerprint.from_json(fingerprint))
    model = None
    innocents = []
    if spec.embedding_model:
        model = EmbeddingModel(
            Path(spec.embedding_model), normalisation=Normalisation(spec.embedding_normalisation)
        )
        if spec.embedding_innocent:
            innocents = _innocent_frames(Path(spec.embedding_innocent))
    return Engine(
        spec.profiles,
        references,
        spec.thresholds,
        known_loras=spec.known_loras,
        embedding=model,
        innocents=innocents,
    )


def _innocent_frames(folder: Path) -> list[U8Array]:
    """Decoded frames of up to :data:`MAX_INNOCENT` images in ``folder`` (bad files skipped)."""
    frames: list[U8Array] = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        if len(frames) >= MAX_INNOCENT:
            break
        try:
            frames.append(decode_image(path.read_bytes(), label=str(path)).rgb)
        except (OSError, MatchingError):
            continue
    return frames


def load_engine(store: Store, options: MatchOptions) -> EngineLoad:
    """One engine over the client's characters, or the reason there is none."""
    spec = engine_spec(store, options)
    if not spec.profiles:
        return EngineLoad(None, "likeness engine not built: no characters in the case file")
    engine = build_engine(spec)
    note = (
        f"likeness engine: {len(spec.profiles)} characters, {len(spec.fingerprints)} references, "
        f"{len(spec.known_loras)} flagged LoRAs"
    )
    if spec.embedding_model:
        note += f", embedding {Path(spec.embedding_model).name}"
    if spec.problems:
        note += f"; {len(spec.problems)} references unusable (first: {spec.problems[0]})"
    return EngineLoad(engine, note)

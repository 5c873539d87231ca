"""The reference library: the client's characters and their reference images in the case file.

``sync_config`` mirrors watch.toml into the database (client, characters with aliases,
platforms) and takes in every reference image found under the configured folders.
``add_references`` takes in files for one character. Each file is decoded once, by the engine's
decoder, into its fingerprint (``crawler.engine_builder.fingerprint_file``); a file that is
unreadable, truncated, too large to decode or not an image is reported by name and skipped; the
same image added twice is stored once (by SHA-256). The legacy ``ReferenceImage.hashes`` column
is left empty: the engine's hashes live in the fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.engine_builder import VERSION_TAG, fingerprint_file
from evidence.queries.references import (
    NewReference,
    add_reference,
    mirror_client,
    mirror_platforms,
)
from evidence.store import Store
from matching import DecompressionBombError, MatchingError, NotAnImageError
from rightswatch.config import WatchConfig
from rightswatch.errors import LibraryError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
DEFAULT_CLIENT = "default"

Progress = Callable[[Path], None]


@dataclass(frozen=True)
class ImageFacts:
    """What the library records of one reference image."""

    path: Path
    sha256: str
    size_bytes: int
    width: int
    height: int
    fingerprint: dict[str, Any]


@dataclass
class AddResult:
    added: list[Path] = field(default_factory=list)
    duplicates: list[Path] = field(default_factory=list)
    errors: list[LibraryError] = field(default_factory=list)


def iter_image_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus image files found below named folders, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            found.append(path)
    return found


def inspect_image(path: Path, character: str) -> ImageFacts:
    """Read one image, decode it once (whole, within the pixel and memory caps) and
    fingerprint it; LibraryError naming the file otherwise."""
    try:
        data = path.read_bytes()
        fingerprint = fingerprint_file(path, character, data)
    except OSError as exc:
        raise LibraryError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except DecompressionBombError as exc:
        raise LibraryError(str(path), exc.message) from exc
    except NotAnImageError as exc:
        raise LibraryError(str(path), "not an image the decoder can read") from exc
    except MatchingError as exc:
        raise LibraryError(str(path), f"damaged image: {exc.message}") from exc
    width, height = fingerprint["source_size"]
    return ImageFacts(path, fingerprint["sha256"], len(data), width, height, fingerprint)


def add_references(
    store: Store,
    character: str,
    paths: Sequence[Path],
    *,
    client: str = DEFAULT_CLIENT,
    progress: Progress | None = None,
) -> AddResult:
    """Take the images at ``paths`` (files or folders) in as references of ``character``."""
    result = AddResult()
    files = iter_image_files(paths)
    for path in files:
        if progress is not None:
            progress(path)
        try:
            facts = inspect_image(path, character)
        except LibraryError as exc:
            result.errors.append(exc)
            continue
        image = NewReference(
            path=str(path.resolve()),
            sha256=facts.sha256,
            size_bytes=facts.size_bytes,
            width=facts.width,
            height=facts.height,
            fingerprint=facts.fingerprint,
            version=VERSION_TAG,
        )
        if not add_reference(store, client, character, image):
            result.duplicates.append(path)
            continue
        result.added.append(path)
    return result


@dataclass
class SyncResult:
    characters: int = 0
    platforms: int = 0
    references: AddResult = field(default_factory=AddResult)


def mirror_characters(store: Store, config: WatchConfig) -> int:
    """Mirror the config's client and characters (names, aliases) into the case file."""
    characters = [(c.name, dict(c.aliases)) for c in config.characters]
    return mirror_client(store, config.client.name, config.client.matter, characters)


def sync_config(
    store: Store, config: WatchConfig, *, progress: Progress | None = None
) -> SyncResult:
    """Mirror the config's client, characters and platforms and take in its reference folders."""
    result = SyncResult(characters=mirror_characters(store, config))
    result.platforms = mirror_platforms(store, [(p.name, p.kind, p.url) for p in config.platforms])
    for char in config.characters:
        folders = [config.resolve(p) for p in char.references]
        missing = [p for p in folders if not p.exists()]
        for p in missing:
            result.references.errors.append(LibraryError(str(p), "reference folder does not exist"))
        added = add_references(
            store,
            char.name,
            [p for p in folders if p.exists()],
            client=config.client.name,
            progress=progress,
        )
        result.references.added += added.added
        result.references.duplicates += added.duplicates
        result.references.errors += added.errors
    return result

"""Characters and reference fingerprints: what the engine compares candidates against.

A :class:`ReferenceFingerprint` holds everything judging needs, so it can be stored as JSON (the
case-file ``ReferenceImage.fingerprint`` column) and rebuilt only when the image's SHA-256 or
:data:`FINGERPRINT_VERSION` changes:

* global hashes (PDQ with quality, pHash, dHash) of the 8 dihedral orientations;
* the same hashes of crop tiles (centre 80 %/60 %, the four 60 % corners, the four halves);
* ORB keypoints and descriptors of the working frame and of its mirror image;
* a small colour thumbnail (PNG) used to re-hash and colour-check rectified regions.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from matching.decode import DEFAULT_MAX_PIXELS, DecodedImage, decode_image
from matching.exceptions import FingerprintFormatError
from matching.hashes import (
    GlobalHashes,
    HashKind,
    Orientation,
    PerceptualHash,
    U8Array,
    dihedral_hashes,
    hash_image,
)
from matching.local import LocalFeatures, extract_features

FINGERPRINT_FORMAT = "rightswatch.matching.fingerprint"
FINGERPRINT_VERSION = 1
THUMBNAIL_SIDE = 256

TILES: dict[str, tuple[float, float, float, float]] = {
    "centre 80 %": (0.1, 0.1, 0.9, 0.9),
    "centre 60 %": (0.2, 0.2, 0.8, 0.8),
    "top-left 60 %": (0.0, 0.0, 0.6, 0.6),
    "top-right 60 %": (0.4, 0.0, 1.0, 0.6),
    "bottom-left 60 %": (0.0, 0.4, 0.6, 1.0),
    "bottom-right 60 %": (0.4, 0.4, 1.0, 1.0),
    "left half": (0.0, 0.0, 0.5, 1.0),
    "right half": (0.5, 0.0, 1.0, 1.0),
    "top half": (0.0, 0.0, 1.0, 0.5),
    "bottom half": (0.0, 0.5, 1.0, 1.0),
}
"""Crop tiles hashed per reference: name → (left, top, right, bottom) as fractions."""


@dataclass(frozen=True)
class CharacterProfile:
    """A client character: its name, aliases per language and accounts licensed to use it.

    ``aliases`` maps a language key (``en``, ``zh``, ``zh-Latn-pinyin``, ``ja``,
    ``ja-Latn-hepburn``…) to names; romanisations are given as their own language.
    """

    name: str
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allowlisted_creators: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        frozen = {lang: tuple(items) for lang, items in self.aliases.items()}
        object.__setattr__(self, "aliases", frozen)
        object.__setattr__(self, "allowlisted_creators", tuple(self.allowlisted_creators))

    def all_aliases(self) -> Iterable[tuple[str, str]]:
        """(language, alias) pairs, the name first."""
        yield "en", self.name
        for lang, items in self.aliases.items():
            for alias in items:
                yield lang, alias


@dataclass(frozen=True)
class Tile:
    """Global hashes of one crop of a reference."""

    label: str
    hashes: GlobalHashes


@dataclass(frozen=True, eq=False)
class ReferenceFingerprint:
    """Everything the engine keeps about one reference image (JSON-serialisable)."""

    name: str
    character: str
    sha256: str
    source_size: tuple[int, int]
    frame_size: tuple[int, int]
    orientations: Mapping[Orientation, GlobalHashes]
    tiles: tuple[Tile, ...]
    features: LocalFeatures
    mirrored_features: LocalFeatures
    thumbnail: U8Array
    version: int = FINGERPRINT_VERSION

    @property
    def quality(self) -> int:
        """PDQ quality of the reference (0-100; below ~50 the image is flat or featureless)."""
        return self.orientations[Orientation.ORIGINAL].pdq_quality

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict; :meth:`from_json` reads it back."""
        ok, png = cv2.imencode(".png", cv2.cvtColor(self.thumbnail, cv2.COLOR_RGB2BGR))
        if not ok:
            raise FingerprintFormatError("cannot encode the thumbnail", label=self.name)
        return {
            "format": FINGERPRINT_FORMAT,
            "version": self.version,
            "name": self.name,
            "character": self.character,
            "sha256": self.sha256,
            "source_size": list(self.source_size),
            "frame_size": list(self.frame_size),
            "orientations": {o.name.lower(): _hashes_json(h) for o, h in self.orientations.items()},
            "tiles": [{"label": t.label, **_hashes_json(t.hashes)} for t in self.tiles],
            "features": self.features.to_json(),
            "mirrored_features": self.mirrored_features.to_json(),
            "thumbnail_png": base64.b64encode(png.tobytes()).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReferenceFingerprint:
        """Rebuild a fingerprint; :class:`FingerprintFormatError` if malformed or outdated."""
        label = str(data.get("name", "<fingerprint>")) if isinstance(data, Mapping) else "?"
        if not isinstance(data, Mapping) or data.get("format") != FINGERPRINT_FORMAT:
            raise FingerprintFormatError("not a reference fingerprint", label=label)
        if data.get("version") != FINGERPRINT_VERSION:
            raise FingerprintFormatError(
                f"fingerprint version {data.get('version')!r}, expected {FINGERPRINT_VERSION}; "
                "rebuild it from the reference image",
                label=label,
            )
        try:
            png = np.frombuffer(base64.b64decode(data["thumbnail_png"]), dtype=np.uint8)
            bgr = cv2.imdecode(png, cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError("thumbnail is not a PNG")
            thumbnail = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            return cls(
                name=str(data["name"]),
                character=str(data["character"]),
                sha256=str(data["sha256"]),
                source_size=_pair(data["source_size"]),
                frame_size=_pair(data["frame_size"]),
                orientations={
                    Orientation[k.upper()]: _hashes_from(v) for k, v in data["orientations"].items()
                },
                tiles=tuple(Tile(str(t["label"]), _hashes_from(t)) for t in data["tiles"]),
                features=LocalFeatures.from_json(data["features"], label=label),
                mirrored_features=LocalFeatures.from_json(data["mirrored_features"], label=label),
                thumbnail=np.ascontiguousarray(thumbnail),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FingerprintFormatError(f"malformed fingerprint: {exc}", label=label) from exc


def _pair(value: Any) -> tuple[int, int]:
    first, second = value
    return int(first), int(second)


def _hashes_json(h: GlobalHashes) -> dict[str, Any]:
    return {
        "pdq": str(h.pdq),
        "quality": h.pdq_quality,
        "phash": str(h.phash),
        "dhash": str(h.dhash),
    }


def _hashes_from(data: Mapping[str, Any]) -> GlobalHashes:
    return GlobalHashes(
        pdq=PerceptualHash.parse(HashKind.PDQ, str(data["pdq"])),
        pdq_quality=int(data["quality"]),
        phash=PerceptualHash.parse(HashKind.PHASH, str(data["phash"])),
        dhash=PerceptualHash.parse(HashKind.DHASH, str(data["dhash"])),
    )


def fingerprint_reference(
    data: bytes, *, name: str, character: str, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ReferenceFingerprint:
    """Decode a reference image and fingerprint it (ImageDecodeError on bad bytes)."""
    decoded = decode_image(data, label=name, max_pixels=max_pixels)
    return fingerprint_decoded(
        decoded, sha256=hashlib.sha256(data).hexdigest(), character=character
    )


def fingerprint_decoded(
    decoded: DecodedImage, *, sha256: str, character: str
) -> ReferenceFingerprint:
    """Fingerprint an already decoded reference."""
    rgb = decoded.rgb
    height, width = rgb.shape[:2]
    tiles = []
    for label, (left, top, right, bottom) in TILES.items():
        x0, x1 = round(left * width), max(round(left * width) + 1, round(right * width))
        y0, y1 = round(top * height), max(round(top * height) + 1, round(bottom * height))
        tiles.append(Tile(label, hash_image(np.ascontiguousarray(rgb[y0:y1, x0:x1]))))
    grey = decoded.grey
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
    thumb_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumbnail = cv2.resize(rgb, thumb_size, interpolation=cv2.INTER_AREA)
    return ReferenceFingerprint(
        name=decoded.label,
        character=character,
        sha256=sha256,
        source_size=decoded.source_size,
        frame_size=(width, height),
        orientations=dihedral_hashes(rgb),
        tiles=tuple(tiles),
        features=extract_features(grey),
        mirrored_features=extract_features(np.ascontiguousarray(np.fliplr(grey))),
        thumbnail=np.ascontiguousarray(thumbnail),
    )

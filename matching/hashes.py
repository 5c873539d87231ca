"""Perceptual hash values and the global hashes computed from a decoded image.

Three hashes are computed from one 128x128 downscale of the working frame (see ``decode``):

* PDQ (256 bits, with its 0-100 quality score), the primary signal (research/hashing.md §2-3);
* pHash (64 bits: 32x32 grey, 2-D DCT, top-left 8x8 against the median);
* dHash (64 bits: 9x8 grey, horizontal gradient sign).

References are hashed in the eight dihedral orientations (:class:`Orientation`); candidates only as
they are, so one index lookup covers mirrored and rotated copies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import pdqhash

from matching.exceptions import MatchingError

U8Array = npt.NDArray[np.uint8]

HASH_SIDE = 128
"""Side of the square RGB downscale every global hash is computed from."""


class HashKind(enum.Enum):
    """The perceptual hash families, with their length in bits."""

    PDQ = "pdq"
    PHASH = "phash"
    DHASH = "dhash"

    @property
    def bits(self) -> int:
        return 256 if self is HashKind.PDQ else 64

    @property
    def title(self) -> str:
        return {"pdq": "PDQ", "phash": "pHash", "dhash": "dHash"}[self.value]


@dataclass(frozen=True)
class PerceptualHash:
    """A hash value: ``a - b`` is the Hamming distance, ``str()`` hex, :meth:`parse` inverts it."""

    kind: HashKind
    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) * 8 != self.kind.bits:
            raise MatchingError(
                f"{self.kind.title} hash needs {self.kind.bits // 8} bytes, got {len(self.value)}",
                label=self.kind.value,
            )

    def __sub__(self, other: PerceptualHash) -> int:
        if not isinstance(other, PerceptualHash):
            return NotImplemented
        if other.kind is not self.kind:
            raise MatchingError(
                f"cannot compare a {self.kind.title} hash with a {other.kind.title} hash",
                label=self.kind.value,
            )
        a = int.from_bytes(self.value, "big")
        b = int.from_bytes(other.value, "big")
        return (a ^ b).bit_count()

    def __str__(self) -> str:
        return self.value.hex()

    @classmethod
    def parse(cls, kind: HashKind, text: str) -> PerceptualHash:
        """Read back a hex string produced by ``str()``."""
        try:
            value = bytes.fromhex(text)
        except ValueError as exc:
            raise MatchingError(f"not a hex hash: {text!r}", label=kind.value) from exc
        return cls(kind, value)

    @classmethod
    def from_bits(cls, kind: HashKind, bits: npt.NDArray[np.bool_]) -> PerceptualHash:
        """Pack a boolean bit vector (first bit = most significant)."""
        return cls(kind, np.packbits(bits.astype(np.uint8).ravel()).tobytes())

    def as_array(self) -> U8Array:
        """The packed bytes as ``uint8[bits/8]``, the layout faiss binary indexes use."""
        return np.frombuffer(self.value, dtype=np.uint8)


class Orientation(enum.Enum):
    """How a candidate is turned relative to the reference (PDQ's dihedral order)."""

    ORIGINAL = 0
    ROTATED_90_ANTICLOCKWISE = 1
    ROTATED_180 = 2
    ROTATED_90_CLOCKWISE = 3
    UPSIDE_DOWN = 4
    MIRRORED = 5
    TRANSPOSED = 6
    ANTI_TRANSPOSED = 7

    @property
    def phrase(self) -> str:
        """Words for a reason sentence; empty for the original orientation."""
        return _ORIENTATION_PHRASES[self]

    def apply(self, pixels: U8Array) -> U8Array:
        """Turn an ``H x W [x C]`` array the way this orientation describes."""
        turned = {
            Orientation.ORIGINAL: lambda a: a,
            Orientation.ROTATED_90_ANTICLOCKWISE: lambda a: np.rot90(a, 1),
            Orientation.ROTATED_180: lambda a: np.rot90(a, 2),
            Orientation.ROTATED_90_CLOCKWISE: lambda a: np.rot90(a, -1),
            Orientation.UPSIDE_DOWN: np.flipud,
            Orientation.MIRRORED: np.fliplr,
            Orientation.TRANSPOSED: lambda a: np.swapaxes(a, 0, 1),
            Orientation.ANTI_TRANSPOSED: lambda a: np.swapaxes(np.rot90(a, 2), 0, 1),
        }[self](pixels)
        return np.ascontiguousarray(turned)


_ORIENTATION_PHRASES = {
    Orientation.ORIGINAL: "",
    Orientation.ROTATED_90_ANTICLOCKWISE: "rotated 90° anticlockwise",
    Orientation.ROTATED_180: "rotated 180°",
    Orientation.ROTATED_90_CLOCKWISE: "rotated 90° clockwise",
    Orientation.UPSIDE_DOWN: "flipped upside down",
    Orientation.MIRRORED: "mirrored",
    Orientation.TRANSPOSED: "mirrored and rotated (transposed)",
    Orientation.ANTI_TRANSPOSED: "mirrored and rotated (anti-transposed)",
}


@dataclass(frozen=True)
class GlobalHashes:
    """The three global hashes of one image (or tile, or orientation)."""

    pdq: PerceptualHash
    pdq_quality: int
    phash: PerceptualHash
    dhash: PerceptualHash


def _dct_matrix(n: int) -> npt.NDArray[np.float64]:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0, :] = np.sqrt(1.0 / n)
    return np.asarray(m, dtype=np.float64)


_DCT32 = _dct_matrix(32)


def hash_square(small_rgb: U8Array) -> GlobalHashes:
    """Global hashes of a ``HASH_SIDE`` square RGB image (see :func:`square_for_hashing`)."""
    dct, quality = pdqhash.compute_float(small_rgb)
    pdq_bits = dct > np.median(dct)
    grey = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2GRAY)
    g32 = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float64)
    low = (_DCT32 @ g32 @ _DCT32.T)[:8, :8]
    phash_bits = low > np.median(low)
    g98 = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    dhash_bits = g98[:, 1:] > g98[:, :-1]
    return GlobalHashes(
        pdq=PerceptualHash.from_bits(HashKind.PDQ, pdq_bits),
        pdq_quality=int(quality),
        phash=PerceptualHash.from_bits(HashKind.PHASH, phash_bits),
        dhash=PerceptualHash.from_bits(HashKind.DHASH, dhash_bits),
    )


def square_for_hashing(rgb: U8Array) -> U8Array:
    """Downscale (or upscale) any RGB frame to the ``HASH_SIDE`` square the hashes read."""
    if rgb.shape[0] == HASH_SIDE and rgb.shape[1] == HASH_SIDE:
        return np.ascontiguousarray(rgb)
    small = cv2.resize(rgb, (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small)


def hash_image(rgb: U8Array) -> GlobalHashes:
    """Global hashes of an RGB frame of any size."""
    return hash_square(square_for_hashing(rgb))


def dihedral_hashes(rgb: U8Array) -> dict[Orientation, GlobalHashes]:
    """Global hashes of the eight orientations of a frame (used for references)."""
    small = square_for_hashing(rgb)
    return {o: hash_square(o.apply(small)) for o in Orientation}

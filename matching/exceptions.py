"""Errors raised by the likeness engine.

Every error names the file, reference or key it concerns (``label``), so a caller scanning many
files can report one clear line per file and carry on::

    MatchingError
    ├── ImageDecodeError            an image cannot be decoded (truncated, corrupt, unsupported)
    │   └── DecompressionBombError  an image declares more pixels than the configured cap
    ├── SafetensorsHeaderError      a .safetensors header is absurd, truncated or not JSON
    ├── FingerprintFormatError      a stored fingerprint is malformed or of an unknown version
    └── ProfileError                characters/references are inconsistent (unknown character…)
"""

from __future__ import annotations


class MatchingError(Exception):
    """Base of every error raised by :mod:`matching`; ``label`` names the file/reference/key."""

    def __init__(self, message: str, *, label: str = "") -> None:
        self.label = label
        self.message = message
        super().__init__(f"{label}: {message}" if label else message)


class ImageDecodeError(MatchingError):
    """The image bytes cannot be turned into pixels."""


class DecompressionBombError(ImageDecodeError):
    """The image declares more pixels than allowed; it is refused before decoding."""

    def __init__(self, *, label: str, pixels: int | None, limit: int) -> None:
        self.pixels = pixels
        self.limit = limit
        declared = f"{pixels:,} pixels" if pixels is not None else "too many pixels"
        super().__init__(
            f"image declares {declared}, above the limit of {limit:,} "
            "(possible decompression bomb)",
            label=label,
        )


class SafetensorsHeaderError(MatchingError):
    """The safetensors header length is absurd, the header is truncated or is not JSON."""


class FingerprintFormatError(MatchingError):
    """A stored reference fingerprint cannot be read back."""


class ProfileError(MatchingError):
    """Character profiles and reference fingerprints do not fit together."""

"""Errors raised by the likeness engine.

Every error names the file, reference or key it concerns (``label``), so a caller scanning many
files can report one clear line per file and carry on::

    MatchingError
    ├── ImageDecodeError            an image cannot be decoded (truncated, corrupt, unsupported)
    │   ├── NotAnImageError         the bytes are no image format the decoder reads
    │   └── DecompressionBombError  an image declares more pixels than the configured cap, or
    │                               decoding it would need more memory than allowed
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


class NotAnImageError(ImageDecodeError):
    """The bytes are not in any image format the decoder reads (HTML, text, garbage)."""


class DecompressionBombError(ImageDecodeError):
    """The image declares more pixels than allowed, or its decode would need more memory than
    allowed; it is refused before decoding."""

    def __init__(
        self,
        *,
        label: str,
        pixels: int | None,
        limit: int,
        memory: tuple[int, int] | None = None,
    ) -> None:
        self.pixels = pixels
        self.limit = limit
        self.memory = memory
        declared = f"{pixels:,} pixels" if pixels is not None else "too many pixels"
        if memory is not None:
            needed, budget = memory
            message = (
                f"image of {declared} needs {needed / 2**20:,.0f} MiB to decode, above the "
                f"{budget / 2**20:,.0f} MiB limit (possible decompression bomb)"
            )
        else:
            message = (
                f"image declares {declared}, above the limit of {limit:,} "
                "(possible decompression bomb)"
            )
        super().__init__(message, label=label)


class SafetensorsHeaderError(MatchingError):
    """The safetensors header length is absurd, the header is truncated or is not JSON."""


class FingerprintFormatError(MatchingError):
    """A stored reference fingerprint cannot be read back."""


class ProfileError(MatchingError):
    """Character profiles and reference fingerprints do not fit together."""

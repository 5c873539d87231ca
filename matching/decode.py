"""Decode image bytes once into the working frame every signal reads.

The same function serves references and candidates (research/hashing.md: never mix pipelines):

* JPEG is decoded with ``Image.draft`` straight to the scale the working frame needs (libjpeg
  scales in the DCT domain, ~4x faster than a full decode);
* EXIF orientation is applied; the first frame of animated GIF/WebP/APNG is used;
* palette, CMYK, 16-bit and alpha images become 8-bit RGB, transparency composited on white;
* the declared pixel count is checked before any pixel is decoded (decompression-bomb guard);
* the frame is downscaled to at most ``working_side`` pixels on its long side.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from matching.exceptions import DecompressionBombError, ImageDecodeError
from matching.hashes import U8Array

WORKING_SIDE = 512
"""Long side of the working frame (local features and rectification read it)."""

DEFAULT_MAX_PIXELS = 64_000_000
"""Images declaring more pixels than this are refused before decoding."""

_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """An 8-bit RGB working frame and the size the file declared."""

    label: str
    rgb: U8Array
    source_size: tuple[int, int]
    source_format: str
    _grey: list[U8Array] = field(default_factory=list, repr=False)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def rgb_like(self, other: U8Array) -> U8Array:
        """The working frame resized to the (h, w) of ``other``."""
        size = (int(other.shape[1]), int(other.shape[0]))
        return np.asarray(cv2.resize(self.rgb, size, interpolation=cv2.INTER_AREA), np.uint8)

    @property
    def grey(self) -> U8Array:
        """Luma of the working frame (computed once)."""
        if not self._grey:
            self._grey.append(np.asarray(cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY), np.uint8))
        return self._grey[0]


def decode_image(
    data: bytes,
    *,
    label: str,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    working_side: int = WORKING_SIDE,
) -> DecodedImage:
    """Decode ``data`` to a :class:`DecodedImage`; :class:`ImageDecodeError` names ``label``."""
    try:
        with warnings.catch_warnings():
            # The pixel cap below is the guard; Pillow's own warning would only duplicate it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ImageDecodeError(
                    f"image declares an empty size {width}x{height}", label=label
                )
            if width * height > max_pixels:
                raise DecompressionBombError(label=label, pixels=width * height, limit=max_pixels)
            fmt = image.format or "unknown"
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
            if fmt == "JPEG":
                image.draft("RGB", (working_side, working_side))
            image.load()
            upright = ImageOps.exif_transpose(image) if orientation != 1 else image
            rgb = _to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(label=label, pixels=None, limit=max_pixels) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"cannot decode image: {exc}", label=label) from exc
    long_side = max(rgb.shape[0], rgb.shape[1])
    if long_side > working_side:
        scale = working_side / long_side
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return DecodedImage(
        label=label,
        rgb=np.ascontiguousarray(rgb),
        source_size=(width, height),
        source_format=fmt,
    )


def _to_rgb(image: Image.Image) -> U8Array:
    """Any Pillow mode to 8-bit RGB; alpha composited onto white."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) if values.size else 0.0
        if mode.startswith("I;16") or top > 255.0:
            values = values / 257.0
        grey = np.clip(values, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8)

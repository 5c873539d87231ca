"""Decode image bytes once into the working frame every signal reads.

The same function serves references and candidates (research/hashing.md: never mix pipelines):

* JPEG is decoded with ``Image.draft`` straight to the scale the working frame needs (libjpeg
  scales in the DCT domain, ~4x faster than a full decode);
* EXIF orientation is applied; the first frame of animated GIF/WebP/APNG is used;
* palette, CMYK, 16-bit and alpha images become 8-bit RGB, transparency composited on white;
* the declared pixel count is checked before any pixel is decoded (decompression-bomb guard),
  and so is the memory the decode itself needs (pixels Pillow will hold × bytes per pixel, after
  the JPEG draft): one decode stays under :data:`DEFAULT_MAX_DECODE_BYTES` (~100 MB);
* large non-JPEG frames are reduced (box filter) before any colour conversion, so conversions
  work on the small frame;
* the frame is downscaled to at most ``working_side`` pixels on its long side;
* generation provenance (A1111 ``parameters``, ComfyUI ``prompt``/``workflow`` text chunks,
  EXIF ``UserComment``) is read on the way (:mod:`matching.provenance`); oversized text chunks
  are skipped and never inflated.

This is the product's only image decoder: the crawler's media pipeline, the reference library
and ``rightswatch scan`` all call it, once per image.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from matching.exceptions import DecompressionBombError, ImageDecodeError, NotAnImageError
from matching.hashes import U8Array
from matching.pngtext import png_text
from matching.provenance import NO_PROVENANCE, Provenance, from_texts

WORKING_SIDE = 512
"""Long side of the working frame (local features and rectification read it)."""

DEFAULT_MAX_PIXELS = 64_000_000
"""Images declaring more pixels than this are refused before decoding."""

DEFAULT_MAX_DECODE_BYTES = 100 * 1024 * 1024
"""Memory one decode may need (decoded pixels × bytes per pixel); above it: refused."""

_EXIF_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_EXIF_USER_COMMENT = 0x9286
_BYTES_PER_BAND = {"I": 4, "F": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "RGBa", "La", "CMYK", "I;16", "I", "F"})


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """An 8-bit RGB working frame and the size the file declared."""

    label: str
    rgb: U8Array
    source_size: tuple[int, int]
    source_format: str
    provenance: Provenance = NO_PROVENANCE
    """What the file's generation metadata says (A1111, ComfyUI, EXIF UserComment)."""
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
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
) -> DecodedImage:
    """Decode ``data`` to a :class:`DecodedImage`; :class:`ImageDecodeError` names ``label``.

    :class:`DecompressionBombError` when the file declares more than ``max_pixels`` pixels or
    its decode would need more than ``max_decode_bytes``; :class:`NotAnImageError` when the
    bytes are no image format at all.
    """
    texts = png_text(data)
    try:
        with warnings.catch_warnings():
            # The pixel cap below is the guard; Pillow's own warning would only duplicate it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(texts.cleaned if texts.cleaned is not None else data))
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ImageDecodeError(
                    f"image declares an empty size {width}x{height}", label=label
                )
            if width * height > max_pixels:
                raise DecompressionBombError(label=label, pixels=width * height, limit=max_pixels)
            fmt = image.format or "unknown"
            exif = image.getexif()
            orientation = exif.get(_EXIF_ORIENTATION, 1)
            comment = exif.get_ifd(_EXIF_IFD).get(_EXIF_USER_COMMENT) if fmt != "PNG" else None
            jpeg_comment = image.info.get("comment") if fmt == "JPEG" else None
            if fmt == "JPEG":
                image.draft("RGB", (working_side, working_side))
            needed = _decode_bytes(image)
            if needed > max_decode_bytes:
                raise DecompressionBombError(
                    label=label,
                    pixels=width * height,
                    limit=max_pixels,
                    memory=(needed, max_decode_bytes),
                )
            image.load()
            frame = _reduce(image, working_side)
            upright = ImageOps.exif_transpose(frame) if orientation != 1 else frame
            rgb = _to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(label=label, pixels=None, limit=max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise NotAnImageError(
            "cannot decode image: not an image format this decoder reads", label=label
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"cannot decode image: {exc}", label=label) from exc
    long_side = max(rgb.shape[0], rgb.shape[1])
    if long_side > working_side:
        scale = working_side / long_side
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    provenance = from_texts(
        texts.texts,
        comment if isinstance(comment, bytes | str) else None,
        jpeg_comment if isinstance(jpeg_comment, bytes | str) else None,
    )
    if texts.problems:
        provenance = Provenance(
            provenance.prompt,
            provenance.loras,
            provenance.sources,
            (*provenance.problems, *texts.problems),
        )
    return DecodedImage(
        label=label,
        rgb=np.ascontiguousarray(rgb),
        source_size=(width, height),
        source_format=fmt,
        provenance=provenance,
    )


def _decode_bytes(image: Image.Image) -> int:
    """Bytes Pillow will hold for the decoded frame (after any JPEG draft)."""
    width, height = image.size
    bands = len(image.getbands())
    per_band = _BYTES_PER_BAND.get(image.mode, 1)
    # Pillow stores 3-band 8-bit images with 4 bytes per pixel
    per_pixel = 4 if bands == 3 and per_band == 1 else bands * per_band
    return width * height * per_pixel


def _reduce(image: Image.Image, working_side: int) -> Image.Image:
    """A large frame box-reduced by an integer factor to at least ``working_side`` pixels."""
    factor = max(image.size) // working_side
    if factor < 2 or image.mode not in _REDUCIBLE:
        return image
    return image.reduce(factor)


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

"""How AI platforms show a picture: the derivations applied to the client's artwork.

Each function takes an image and a ``random.Random`` and returns a new RGB image; none mutates
its input. :data:`DERIVATIONS` maps the names used in the ground truth (``how``) to them.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont, ImageOps

CAPTIONS = (
    "my new fanart!!",
    "commission done :)",
    "AI art, lora test",
    "best girl / best bot",
    "so cute omg",
    "generated in 20 steps",
)


def resized_size(size: tuple[int, int], rng: random.Random) -> tuple[int, int]:
    """The size :func:`resize` picks (it draws from ``rng`` first, exactly like this)."""
    factor = rng.uniform(0.45, 0.85)
    return (max(16, round(size[0] * factor)), max(16, round(size[1] * factor)))


def resize(image: Image.Image, rng: random.Random) -> Image.Image:
    """Scaled to 45-85 % of its size (platforms serve smaller renditions)."""
    return image.convert("RGB").resize(resized_size(image.size, rng), Image.Resampling.BILINEAR)


def recompress(image: Image.Image, rng: random.Random) -> Image.Image:
    """Round-tripped through a low-quality JPEG (quality 20-45)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=rng.randint(20, 45))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def crop_box(size: tuple[int, int], rng: random.Random) -> tuple[int, int, int, int]:
    """The window :func:`crop` cuts (it draws from ``rng`` first, exactly like this)."""
    w, h = size
    cw, ch = round(w * rng.uniform(0.7, 0.9)), round(h * rng.uniform(0.7, 0.9))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return (x, y, x + cw, y + ch)


def crop(image: Image.Image, rng: random.Random) -> Image.Image:
    """A 70-90 % window, off-centre."""
    return image.convert("RGB").crop(crop_box(image.size, rng))


def mirror(image: Image.Image, rng: random.Random) -> Image.Image:
    """Flipped left to right."""
    return ImageOps.mirror(image.convert("RGB"))


def recolour(image: Image.Image, rng: random.Random) -> Image.Image:
    """Hue rotated by 15-35 degrees either way, saturation nudged."""
    shift = rng.uniform(15, 35) / 360 * rng.choice((-1, 1))
    boost = rng.uniform(0.85, 1.15)
    rgb = image.convert("RGB")
    hsv = rgb.convert("HSV")
    h, s, v = hsv.split()
    h = h.point(lambda value: round(value + shift * 255) % 256)
    s = s.point(lambda value: min(255, round(value * boost)))
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def caption_band(height: int) -> int:
    """Height of the text band :func:`caption` adds."""
    return max(24, height // 9)


def caption(image: Image.Image, rng: random.Random, text: str | None = None) -> Image.Image:
    """A text band added above or below, as reposts and memes do."""
    rgb = image.convert("RGB")
    band = caption_band(rgb.height)
    canvas = Image.new("RGB", (rgb.width, rgb.height + band), (255, 255, 255))
    top = rng.random() < 0.5
    canvas.paste(rgb, (0, band if top else 0))
    font = ImageFont.load_default(size=max(12, band * 2 // 3))
    label = text or rng.choice(CAPTIONS)
    y = 4 if top else rgb.height + 4
    ImageDraw.Draw(canvas).text((8, y), label, fill=(10, 10, 10), font=font)
    return canvas


def place(
    scene: Image.Image, figure: Image.Image, rng: random.Random, fraction: float
) -> Image.Image:
    """``figure`` (RGBA) pasted into ``scene`` at ``fraction`` of the scene's shorter side."""
    canvas = scene.convert("RGB")
    side = max(8, round(min(canvas.size) * fraction))
    sprite = figure.resize((side, side), Image.Resampling.LANCZOS)
    x = rng.randint(0, canvas.width - side)
    y = rng.randint(0, canvas.height - side)
    canvas.paste(sprite, (x, y), sprite)
    return canvas


def place_pair(
    scene: Image.Image, left: Image.Image, right: Image.Image, rng: random.Random
) -> Image.Image:
    """Two figures side by side in one scene, each 35-50 % of the height."""
    canvas = scene.convert("RGB")
    for index, figure in enumerate((left, right)):
        side = round(canvas.height * rng.uniform(0.35, 0.5))
        sprite = figure.resize((side, side), Image.Resampling.LANCZOS)
        half = canvas.width // 2
        x = index * half + rng.randint(0, max(0, half - side))
        y = rng.randint(canvas.height // 4, canvas.height - side)
        canvas.paste(sprite, (x, y), sprite)
    return canvas


def derived_size(how: str, size: tuple[int, int], rng: random.Random) -> tuple[int, int]:
    """The output size of derivation ``how`` on an image of ``size``, without drawing it."""
    if how == "resized":
        return resized_size(size, rng)
    if how == "cropped":
        x0, y0, x1, y1 = crop_box(size, rng)
        return (x1 - x0, y1 - y0)
    if how == "captioned":
        return (size[0], size[1] + caption_band(size[1]))
    return size


DERIVATIONS: dict[str, Callable[[Image.Image, random.Random], Image.Image]] = {
    "resized": resize,
    "recompressed": recompress,
    "cropped": crop,
    "mirrored": mirror,
    "recoloured": recolour,
    "captioned": caption,
}

"""The sandbox's pictures, deterministic from a seed: the public API for tests and benchmarks.

Import from here (not from the modules behind it)::

    from sandbox.content import CHARACTERS, draw_character, reference_images, render_image

- :data:`CHARACTERS`: the demo client's three characters (``.name``, ``.slug``, ``.aliases``
  keyed ``en``, ``zh``, ``pinyin``, ``ja``, ``hepburn``; ``.all_aliases()``).
- :func:`draw_character`, :func:`draw_lookalike`, :func:`draw_background`, :func:`draw_scene`.
- :func:`reference_images`: the client's official artwork (what ``python -m sandbox client``
  writes to ``references/<slug>/``).
- The derivations platforms apply (:data:`DERIVATIONS`: resized, recompressed, cropped,
  mirrored, recoloured, captioned) plus :func:`place` and :func:`place_pair` for new scenes.
- :class:`ImageRecipe` and :func:`render_image`: how every platform image is made; the
  ``how`` values are :data:`IMAGE_HOWS`.
"""

from __future__ import annotations

import functools
import io
import random
from dataclasses import dataclass, field

from PIL import Image, PngImagePlugin

from sandbox.characters import (
    ALIAS_LANGUAGES,
    CHARACTERS,
    POSES,
    Character,
    character,
    draw_character,
    draw_lookalike,
)
from sandbox.errors import ContentError
from sandbox.scenes import BACKGROUNDS, SCENES, draw_background, draw_scene
from sandbox.transforms import (
    DERIVATIONS,
    caption,
    crop,
    derived_size,
    mirror,
    place,
    place_pair,
    recolour,
    recompress,
    resize,
)

__all__ = [
    "ALIAS_LANGUAGES",
    "BACKGROUNDS",
    "CHARACTERS",
    "DERIVATIONS",
    "IMAGE_HOWS",
    "POSES",
    "REFERENCE_LAYOUT",
    "SCENES",
    "Character",
    "ImageRecipe",
    "ReferenceImage",
    "caption",
    "character",
    "crop",
    "draw_background",
    "draw_character",
    "draw_lookalike",
    "draw_scene",
    "encode_image",
    "image_size",
    "mirror",
    "place",
    "place_pair",
    "recolour",
    "recompress",
    "reference_image",
    "reference_images",
    "render_image",
    "resize",
]

REFERENCE_SIZE = 512
# (pose, background) of each reference image, per character.
REFERENCE_LAYOUT = (
    ("stand", "plain"),
    ("wave", "gradient"),
    ("jump", "landscape"),
    ("turn", "room"),
    ("stand", "confetti"),
)
IMAGE_HOWS = (*DERIVATIONS, "scene", "pair", "lookalike", "unrelated")


@dataclass(frozen=True, eq=False)
class ReferenceImage:
    """One piece of the client's official artwork."""

    character: str
    slug: str
    index: int
    pose: str
    background: str
    image: Image.Image = field(repr=False)

    @property
    def filename(self) -> str:
        return f"{self.slug}-{self.index:02d}-{self.pose}-{self.background}.png"


@functools.lru_cache(maxsize=64)
def _reference_pixels(name: str, index: int, seed: int) -> Image.Image:
    who = character(name)
    pose, background = REFERENCE_LAYOUT[index]
    rng = random.Random(f"reference:{seed}:{who.slug}:{index}")
    canvas = draw_background(background, (REFERENCE_SIZE, REFERENCE_SIZE), rng)
    figure = draw_character(who.name, pose=pose, size=round(REFERENCE_SIZE * 0.86), rng=rng)
    offset = (REFERENCE_SIZE - figure.width) // 2
    canvas.paste(figure, (offset, REFERENCE_SIZE - figure.height - 8), figure)
    return canvas


def reference_image(name: str, index: int, seed: int = 1) -> ReferenceImage:
    """Reference ``index`` (0..4) of character ``name`` for world ``seed`` (512x512 RGB)."""
    if not 0 <= index < len(REFERENCE_LAYOUT):
        raise ContentError(f"reference index {index} out of range 0..{len(REFERENCE_LAYOUT) - 1}")
    who = character(name)
    pose, background = REFERENCE_LAYOUT[index]
    pixels = _reference_pixels(who.name, index, seed).copy()
    return ReferenceImage(who.name, who.slug, index, pose, background, pixels)


def reference_images(seed: int = 1) -> list[ReferenceImage]:
    """All reference images of all characters (5 each) for world ``seed``."""
    return [
        reference_image(who.name, index, seed)
        for who in CHARACTERS
        for index in range(len(REFERENCE_LAYOUT))
    ]


@dataclass(frozen=True)
class ImageRecipe:
    """Everything needed to redraw one platform image, byte for byte.

    ``how`` is one of :data:`IMAGE_HOWS`; ``characters`` names who is depicted (empty for
    look-alikes and unrelated scenes); ``palette_of`` is the character a look-alike imitates;
    ``reference`` picks the artwork a derivation starts from.
    """

    seed: int
    how: str
    characters: tuple[str, ...] = ()
    palette_of: str | None = None
    reference: int = 0
    width: int = 512
    height: int = 512


def image_size(recipe: ImageRecipe, world_seed: int) -> tuple[int, int]:
    """The (width, height) :func:`render_image` will produce, computed without drawing."""
    if recipe.how in DERIVATIONS:
        rng = random.Random(f"image:{world_seed}:{recipe.seed}")
        return derived_size(recipe.how, (REFERENCE_SIZE, REFERENCE_SIZE), rng)
    return (recipe.width, recipe.height)


def render_image(recipe: ImageRecipe, world_seed: int) -> Image.Image:
    """Draw the image a recipe describes (RGB)."""
    rng = random.Random(f"image:{world_seed}:{recipe.seed}")
    size = (recipe.width, recipe.height)
    if recipe.how in DERIVATIONS:
        source = _reference_pixels(
            character(recipe.characters[0]).name, recipe.reference, world_seed
        )
        return DERIVATIONS[recipe.how](source, rng)
    scene = draw_scene(rng.choice(SCENES), size, rng)
    if recipe.how == "scene":
        figure = draw_character(recipe.characters[0], pose=rng.choice(POSES), size=384, rng=rng)
        return place(scene, figure, rng, rng.uniform(0.3, 0.6))
    if recipe.how == "pair":
        left, right = (
            draw_character(name, pose=rng.choice(POSES), size=320, rng=rng)
            for name in recipe.characters
        )
        return place_pair(scene, left, right, rng)
    if recipe.how == "lookalike":
        figure = draw_lookalike(recipe.palette_of or CHARACTERS[0].name, size=384, rng=rng)
        return place(scene, figure, rng, rng.uniform(0.35, 0.6))
    if recipe.how == "unrelated":
        return scene
    raise ContentError(f"unknown image recipe how={recipe.how!r} (known: {', '.join(IMAGE_HOWS)})")


def encode_image(image: Image.Image, fmt: str, parameters: str | None = None) -> bytes:
    """PNG or JPEG bytes, with A1111-style generation ``parameters`` embedded when given.

    PNG keeps them in a ``parameters`` text chunk, JPEG in a comment segment.
    """
    buffer = io.BytesIO()
    rgb = image.convert("RGB")
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        if parameters:
            info.add_itxt("parameters", parameters)
        rgb.save(buffer, "PNG", pnginfo=info, optimize=False)
    elif fmt == "jpeg":
        comment = parameters.encode("utf-8") if parameters else b""
        rgb.save(buffer, "JPEG", quality=90, comment=comment)
    else:
        raise ContentError(f"unknown image format {fmt!r} (png or jpeg)")
    return buffer.getvalue()

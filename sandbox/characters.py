"""The demo client's three synthetic characters, drawn procedurally with Pillow.

All three are invented for the sandbox (nothing copyrighted): Kobaltron, a boxy cobalt robot;
Pipera, a round pink bird; Tidebell, a teal jellyfish with a star on its bell. Each has aliases
in English, Chinese (汉字 and pinyin) and Japanese (katakana and Hepburn romanisation).

Drawing happens on a 2x canvas and is scaled down with a Lanczos filter, so edges are smooth.
Everything is deterministic: the same arguments and the same ``random.Random`` state give the
same pixels.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from PIL import Image, ImageDraw

from sandbox.errors import ContentError

RGB = tuple[int, int, int]
POSES = ("stand", "wave", "jump", "turn")
ALIAS_LANGUAGES = ("en", "zh", "pinyin", "ja", "hepburn")


@dataclass(frozen=True, eq=False)
class Character:
    """A character of the demo client: names in five scripts and a palette."""

    name: str
    slug: str
    description: str
    aliases: Mapping[str, tuple[str, ...]]
    palette: tuple[RGB, ...]

    def all_aliases(self) -> tuple[str, ...]:
        """Every alias in every language, the canonical name first."""
        names = [self.name]
        for language in ALIAS_LANGUAGES:
            names.extend(alias for alias in self.aliases[language] if alias not in names)
        return tuple(names)


CHARACTERS: tuple[Character, ...] = (
    Character(
        name="Kobaltron",
        slug="kobaltron",
        description="a boxy cobalt-blue robot with a yellow visor and two red-tipped antennae",
        aliases=MappingProxyType(
            {
                "en": ("Kobaltron", "Cobaltron"),
                "zh": ("科巴顿",),
                "pinyin": ("Kebadun", "Ke Ba Dun"),
                "ja": ("コバルトロン",),
                "hepburn": ("Kobarutoron",),
            }
        ),
        palette=((31, 79, 191), (255, 210, 63), (230, 57, 70), (43, 47, 58)),
    ),
    Character(
        name="Pipera",
        slug="pipera",
        description="a round pink bird with a white belly, big eyes and a three-feather crest",
        aliases=MappingProxyType(
            {
                "en": ("Pipera", "Pippera"),
                "zh": ("皮佩拉",),
                "pinyin": ("Pipeila", "Pi Pei La"),
                "ja": ("ピペラ",),
                "hepburn": ("Pipera",),
            }
        ),
        palette=((240, 106, 168), (255, 243, 248), (181, 23, 158), (255, 159, 28)),
    ),
    Character(
        name="Tidebell",
        slug="tidebell",
        description="a teal jellyfish with a bell-shaped head, a yellow star and wavy tentacles",
        aliases=MappingProxyType(
            {
                "en": ("Tidebell", "Tide Bell"),
                "zh": ("潮铃",),
                "pinyin": ("Chaoling", "Chao Ling"),
                "ja": ("タイドベル",),
                "hepburn": ("Taidoberu",),
            }
        ),
        palette=((46, 196, 182), (27, 153, 139), (255, 224, 102), (123, 44, 191)),
    ),
)
_BY_NAME = {c.name.lower(): c for c in CHARACTERS} | {c.slug: c for c in CHARACTERS}


def character(name: str) -> Character:
    """The character called ``name`` (name or slug, any case)."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        known = ", ".join(c.name for c in CHARACTERS)
        raise ContentError(f"unknown character {name!r} (known: {known})") from None


class _Pen:
    """Unit-square drawing on a square canvas: coordinates are fractions of the side."""

    def __init__(self, draw: ImageDraw.ImageDraw, side: int) -> None:
        self.draw = draw
        self.side = side

    def box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        s = self.side
        return [x0 * s, y0 * s, x1 * s, y1 * s]

    def pts(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * self.side, y * self.side) for x, y in points]

    def width(self, fraction: float) -> int:
        return max(1, round(fraction * self.side))


def _limb_up(pose: str, side: str) -> bool:
    return pose == "jump" or (pose == "wave" and side == "right")


def _kobaltron(pen: _Pen, pose: str, colours: tuple[RGB, ...]) -> None:
    blue, yellow, red, steel = colours
    d, ink, line = pen.draw, (11, 31, 82), pen.width(0.012)
    for x in (0.36, 0.54):
        d.rectangle(pen.box(x, 0.78, x + 0.10, 0.95), fill=steel, outline=ink, width=line)
    for side, x in (("left", 0.17), ("right", 0.73)):
        top, bottom = (0.24, 0.50) if _limb_up(pose, side) else (0.48, 0.74)
        d.rectangle(pen.box(x, top, x + 0.10, bottom), fill=steel, outline=ink, width=line)
    d.rounded_rectangle(
        pen.box(0.27, 0.45, 0.73, 0.82), radius=pen.width(0.04), fill=blue, outline=ink, width=line
    )
    d.rectangle(pen.box(0.43, 0.55, 0.57, 0.69), fill=yellow, outline=ink, width=line)
    d.ellipse(pen.box(0.475, 0.595, 0.525, 0.645), fill=red)
    for base, tip in ((0.40, 0.34), (0.60, 0.66)):
        d.line(pen.pts([(base, 0.19), (tip, 0.07)]), fill=ink, width=pen.width(0.015))
        d.ellipse(pen.box(tip - 0.035, 0.035, tip + 0.035, 0.105), fill=red, outline=ink)
    lighter = tuple(min(255, c + 30) for c in blue)
    d.rectangle(pen.box(0.31, 0.18, 0.69, 0.45), fill=lighter, outline=ink, width=line)
    d.rectangle(pen.box(0.35, 0.26, 0.65, 0.34), fill=yellow, outline=ink, width=line)


def _pipera(pen: _Pen, pose: str, colours: tuple[RGB, ...]) -> None:
    pink, belly, crest, beak = colours
    d, ink, line = pen.draw, (90, 20, 60), pen.width(0.012)
    for x in (0.36, 0.56):
        d.ellipse(pen.box(x, 0.86, x + 0.10, 0.94), fill=beak, outline=ink, width=line)
    for dx, tilt in ((0.0, -0.02), (0.06, 0.0), (-0.06, 0.0)):
        d.ellipse(pen.box(0.46 + dx, 0.10 + tilt, 0.54 + dx, 0.33), fill=crest, outline=ink)
    for side, x in (("left", 0.12), ("right", 0.74)):
        top = 0.30 if _limb_up(pose, side) else 0.52
        d.ellipse(pen.box(x, top, x + 0.14, top + 0.22), fill=crest, outline=ink, width=line)
    d.ellipse(pen.box(0.20, 0.28, 0.80, 0.90), fill=pink, outline=ink, width=line)
    d.ellipse(pen.box(0.33, 0.52, 0.67, 0.87), fill=belly)
    for x in (0.40, 0.60):
        d.ellipse(pen.box(x - 0.075, 0.36, x + 0.075, 0.51), fill=(255, 255, 255), outline=ink)
        d.ellipse(pen.box(x - 0.035, 0.41, x + 0.025, 0.48), fill=(20, 20, 30))
    d.polygon(pen.pts([(0.45, 0.51), (0.55, 0.51), (0.50, 0.60)]), fill=beak, outline=ink)


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _tidebell(pen: _Pen, pose: str, colours: tuple[RGB, ...]) -> None:
    teal, rim, star, eye = colours
    d, ink = pen.draw, (10, 60, 60)
    lift = 0.08 if pose == "jump" else 0.0
    for k, x in enumerate((0.30, 0.40, 0.50, 0.60, 0.70)):
        phase = k * 1.3 + (1.5 if pose == "wave" else 0.0)
        path = [
            (x + 0.035 * math.sin(phase + t * 7.0), 0.50 + t * (0.45 - lift)) for t in _steps(14)
        ]
        d.line(pen.pts(path), fill=rim if k % 2 else (167, 139, 250), width=pen.width(0.028))
    d.chord(pen.box(0.18, 0.12, 0.82, 0.88), 180, 360, fill=teal, outline=ink, width=2)
    d.rectangle(pen.box(0.18, 0.47, 0.82, 0.54), fill=rim, outline=ink)
    d.polygon(pen.pts(_star(0.50, 0.24, 0.065)), fill=star, outline=ink)
    for x in (0.39, 0.61):
        d.ellipse(pen.box(x - 0.045, 0.33, x + 0.045, 0.44), fill=eye)
        d.ellipse(pen.box(x - 0.015, 0.345, x + 0.01, 0.37), fill=(255, 255, 255))


def _steps(n: int) -> list[float]:
    return [i / (n - 1) for i in range(n)]


_DRAWERS: dict[str, Callable[[_Pen, str, tuple[RGB, ...]], None]] = {
    "kobaltron": _kobaltron,
    "pipera": _pipera,
    "tidebell": _tidebell,
}


def _pose_geometry(image: Image.Image, pose: str, rng: random.Random | None) -> Image.Image:
    jitter = rng.uniform(-3.0, 3.0) if rng else 0.0
    if pose == "jump":
        lift = -round(image.height * 0.03)
        image = image.rotate(-9 + jitter, resample=Image.Resampling.BILINEAR, translate=(0, lift))
    elif pose == "turn":
        w, h = image.size
        squeezed = image.resize((int(w * 0.78), h), Image.Resampling.BILINEAR)
        image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        image.paste(squeezed, (int(w * 0.14), 0))
        image = image.rotate(4 + jitter, resample=Image.Resampling.BILINEAR)
    elif jitter:
        image = image.rotate(jitter, resample=Image.Resampling.BILINEAR)
    return image


def draw_character(
    name: str, *, pose: str = "stand", size: int = 256, rng: random.Random | None = None
) -> Image.Image:
    """The character on a transparent RGBA square of ``size`` pixels.

    ``pose`` is one of :data:`POSES`; ``rng`` (optional) adds a small tilt.
    """
    who = character(name)
    if pose not in POSES:
        raise ContentError(f"unknown pose {pose!r} (known: {', '.join(POSES)})")
    canvas = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
    _DRAWERS[who.slug](_Pen(ImageDraw.Draw(canvas), size * 2), pose, who.palette)
    small = canvas.resize((size, size), Image.Resampling.LANCZOS)
    return _pose_geometry(small, pose, rng)


def draw_lookalike(name: str, *, size: int = 256, rng: random.Random | None = None) -> Image.Image:
    """A distractor in ``name``'s palette but with another silhouette (a spiky pyramid).

    It shares colours, not shapes: a fair matcher should not confuse it with the character.
    """
    first, second, third, fourth = character(name).palette
    rng = rng or random.Random(0)
    canvas = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
    pen = _Pen(ImageDraw.Draw(canvas), size * 2)
    d = pen.draw
    spikes = rng.randint(5, 8)
    points = []
    for k in range(spikes * 2):
        angle = -math.pi / 2 + k * math.pi / spikes
        radius = 0.45 if k % 2 == 0 else 0.17
        points.append((0.5 + radius * math.cos(angle), 0.55 + radius * math.sin(angle)))
    d.polygon(pen.pts(points), fill=first, outline=fourth)
    d.regular_polygon((size, int(size * 1.1), int(size * 0.16)), 3, fill=second, outline=fourth)
    d.rectangle(pen.box(0.43, 0.60, 0.57, 0.65), fill=third)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)

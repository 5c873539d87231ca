"""Backgrounds and unrelated scenes, drawn procedurally (deterministic from a ``random.Random``)."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw

from sandbox.errors import ContentError

BACKGROUNDS = ("plain", "gradient", "confetti", "landscape", "city", "room")
SCENES = ("landscape", "city", "room", "abstract")


def _pastel(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(190, 250), rng.randint(190, 250), rng.randint(190, 250))


def _vivid(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(30, 230), rng.randint(30, 230), rng.randint(30, 230))


def _gradient(size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...]) -> Image.Image:
    w, h = size
    column = Image.new("RGB", (1, h))
    for y in range(h):
        t = y / max(1, h - 1)
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return column.resize((w, h))


def _landscape(size: tuple[int, int], rng: random.Random) -> Image.Image:
    w, h = size
    sky_top = (rng.randint(60, 140), rng.randint(120, 190), rng.randint(200, 255))
    image = _gradient(size, sky_top, (235, 240, 250))
    d = ImageDraw.Draw(image)
    sun = rng.randint(w // 10, w - w // 4), rng.randint(h // 12, h // 4)
    r = rng.randint(w // 16, w // 9)
    d.ellipse([sun[0] - r, sun[1] - r, sun[0] + r, sun[1] + r], fill=(255, 220, 120))
    for layer in range(3):
        base = int(h * (0.55 + 0.12 * layer))
        green = (40 + 30 * layer, 120 + 25 * layer, 60 + 10 * layer)
        points = [(0, h)] + [(x, base - rng.randint(0, h // 6)) for x in range(0, w + 64, 64)]
        d.polygon([*points, (w, h)], fill=green)
    for _ in range(rng.randint(2, 6)):
        x, y = rng.randint(0, w), rng.randint(int(h * 0.6), h)
        d.rectangle([x - 4, y - 30, x + 4, y], fill=(100, 70, 40))
        d.ellipse([x - 22, y - 70, x + 22, y - 24], fill=(30, 110 + rng.randint(0, 60), 50))
    return image


def _city(size: tuple[int, int], rng: random.Random) -> Image.Image:
    w, h = size
    image = _gradient(size, (rng.randint(20, 80), 40, rng.randint(90, 160)), (250, 170, 120))
    d = ImageDraw.Draw(image)
    x = 0
    while x < w:
        bw, bh = rng.randint(w // 12, w // 5), rng.randint(h // 4, int(h * 0.75))
        shade = rng.randint(30, 90)
        d.rectangle([x, h - bh, x + bw, h], fill=(shade, shade, shade + 20))
        for wy in range(h - bh + 10, h - 10, 22):
            for wx in range(x + 6, x + bw - 10, 16):
                if rng.random() < 0.5:
                    d.rectangle([wx, wy, wx + 7, wy + 10], fill=(250, 230, 140))
        x += bw + rng.randint(0, 8)
    return image


def _room(size: tuple[int, int], rng: random.Random) -> Image.Image:
    w, h = size
    image = Image.new("RGB", size, _pastel(rng))
    d = ImageDraw.Draw(image)
    d.rectangle([0, int(h * 0.7), w, h], fill=(rng.randint(120, 170), rng.randint(80, 120), 60))
    wx = rng.randint(w // 10, w // 2)
    d.rectangle(
        [wx, h // 8, wx + w // 3, h // 2], fill=(170, 210, 250), outline=(255, 255, 255), width=6
    )
    d.line([wx + w // 6, h // 8, wx + w // 6, h // 2], fill=(255, 255, 255), width=4)
    d.rectangle([w - w // 4, int(h * 0.45), w - w // 12, int(h * 0.72)], fill=_vivid(rng))
    return image


def _abstract(size: tuple[int, int], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", size, _pastel(rng))
    d = ImageDraw.Draw(image)
    w, h = size
    for _ in range(rng.randint(8, 20)):
        x0, y0 = rng.randint(-w // 4, w), rng.randint(-h // 4, h)
        x1, y1 = x0 + rng.randint(20, w // 2), y0 + rng.randint(20, h // 2)
        shape = rng.choice(("ellipse", "rectangle", "line"))
        if shape == "ellipse":
            d.ellipse([x0, y0, x1, y1], fill=_vivid(rng))
        elif shape == "rectangle":
            d.rectangle([x0, y0, x1, y1], fill=_vivid(rng))
        else:
            d.line([x0, y0, x1, y1], fill=_vivid(rng), width=rng.randint(3, 12))
    return image


def _confetti(size: tuple[int, int], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", size, _pastel(rng))
    d = ImageDraw.Draw(image)
    for _ in range(120):
        x, y, r = rng.randint(0, size[0]), rng.randint(0, size[1]), rng.randint(2, 6)
        d.ellipse([x - r, y - r, x + r, y + r], fill=_vivid(rng))
    return image


def draw_background(kind: str, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """An RGB background of ``kind`` (one of :data:`BACKGROUNDS`)."""
    if kind == "plain":
        return Image.new("RGB", size, _pastel(rng))
    if kind == "gradient":
        return _gradient(size, _pastel(rng), _pastel(rng))
    if kind == "confetti":
        return _confetti(size, rng)
    if kind in SCENES:
        return draw_scene(kind, size, rng)
    raise ContentError(f"unknown background {kind!r} (known: {', '.join(BACKGROUNDS)})")


def draw_scene(kind: str, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A scene without any character (one of :data:`SCENES`)."""
    drawers = {"landscape": _landscape, "city": _city, "room": _room, "abstract": _abstract}
    if kind not in drawers:
        raise ContentError(f"unknown scene {kind!r} (known: {', '.join(SCENES)})")
    return drawers[kind](size, rng)

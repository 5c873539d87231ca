"""Synthetic characters, look-alikes, scenes and the transforms the likeness benchmark applies.

Everything is drawn with Pillow from a seed, so tests and ``benchmarks/likeness.py`` get the same
pixels on every run. A "character" is a flat-colour cartoon figure (body, head, eyes, mouth,
limbs, an emblem) on a light background; a look-alike keeps the style and silhouette family but
changes palette, proportions and details, as a same-style AI drawing of a different figure would.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

Colour = tuple[int, int, int]


def _vivid(rng: random.Random) -> Colour:
    h = rng.random()
    r, g, b = (int(255 * (0.5 + 0.5 * math.cos(2 * math.pi * (h + k / 3)))) for k in range(3))
    return (r, g, b)


def _pastel(rng: random.Random) -> Colour:
    return tuple(rng.randint(200, 250) for _ in range(3))  # type: ignore[return-value]


def draw_character(seed: int, size: int = 384) -> Image.Image:
    """A deterministic cartoon character (seed = identity)."""
    rng = random.Random(seed * 7919 + 17)
    return _draw(rng, size)


def draw_lookalike(seed: int, variant: int, size: int = 384) -> Image.Image:
    """A same-style figure close to ``draw_character(seed)``: same body family, other details."""
    base = random.Random(seed * 7919 + 17)
    params = _params(base)
    rng = random.Random(seed * 104729 + variant * 13 + 5)
    params["body"] = _vivid(rng)
    params["accent"] = _vivid(rng)
    params["emblem"] = rng.choice(["star", "circle", "bolt", "none"])
    params["eye_gap"] = params["eye_gap"] * rng.uniform(0.7, 1.3)
    params["head_r"] = params["head_r"] * rng.uniform(0.8, 1.2)
    params["arm_up"] = not params["arm_up"]
    params["bg"] = _pastel(rng)
    return _render(params, size)


def _params(rng: random.Random) -> dict[str, object]:
    return {
        "bg": _pastel(rng),
        "body": _vivid(rng),
        "accent": _vivid(rng),
        "outline": (30, 30, 40),
        "shape": rng.choice(["round", "box", "pear"]),
        "head_r": rng.uniform(0.14, 0.2),
        "eye_gap": rng.uniform(0.05, 0.08),
        "emblem": rng.choice(["star", "circle", "bolt"]),
        "arm_up": rng.random() < 0.5,
        "ears": rng.choice(["cat", "antenna", "none"]),
        "stripes": rng.randint(0, 3),
        "dots": [(rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95)) for _ in range(6)],
        "cx": rng.uniform(0.4, 0.6),
        "scale": rng.uniform(0.75, 1.05),
        "body_w": rng.uniform(0.7, 1.3),
        "head_dy": rng.uniform(-0.06, 0.04),
        "arms": (rng.uniform(0.25, 0.7), rng.uniform(0.25, 0.7)),
        "legs": (rng.uniform(0.0, 0.12), rng.uniform(0.0, 0.12)),
        "hat": rng.choice(["none", "cap", "bow", "crown"]),
        "mouth": rng.choice(["smile", "open", "flat"]),
        "spots": [
            (rng.uniform(-0.12, 0.12), rng.uniform(0.5, 0.8)) for _ in range(rng.randint(0, 4))
        ],
    }


def _draw(rng: random.Random, size: int) -> Image.Image:
    return _render(_params(rng), size)


def _render(p: dict[str, object], size: int) -> Image.Image:
    s = size * 2
    img = Image.new("RGB", (s, s), p["bg"])  # type: ignore[arg-type]
    d = ImageDraw.Draw(img)
    ow = max(2, s // 90)
    out = p["outline"]
    for x, y in p["dots"]:  # type: ignore[attr-defined]
        r = s * 0.02
        d.ellipse((x * s - r, y * s - r, x * s + r, y * s + r), fill=p["accent"])
    k = float(p["scale"])  # type: ignore[arg-type]
    cx = s * float(p["cx"])  # type: ignore[arg-type]
    head_r = float(p["head_r"]) * s * k  # type: ignore[arg-type]
    head_cy = s * (0.3 + float(p["head_dy"]))  # type: ignore[arg-type]
    bw = 0.2 * float(p["body_w"]) * k  # type: ignore[arg-type]
    body = (cx - s * bw, s * 0.42, cx + s * bw, s * (0.42 + 0.43 * k))
    arm_l, arm_r = p["arms"]  # type: ignore[misc]
    arm_y = s * (0.3 if p["arm_up"] else arm_l)
    d.line((cx - s * bw * 0.9, s * 0.5, cx - s * (bw + 0.16), arm_y), fill=out, width=ow * 4)
    d.line((cx + s * bw * 0.9, s * 0.5, cx + s * (bw + 0.15), s * arm_r), fill=out, width=ow * 4)
    leg_l, leg_r = p["legs"]  # type: ignore[misc]
    foot = min(0.97, 0.42 + 0.43 * k + 0.1)
    d.line(
        (cx - s * 0.1, body[3] - s * 0.05, cx - s * (0.1 + leg_l), s * foot), fill=out, width=ow * 4
    )
    d.line(
        (cx + s * 0.1, body[3] - s * 0.05, cx + s * (0.1 + leg_r), s * foot), fill=out, width=ow * 4
    )
    if p["shape"] == "box":
        d.rounded_rectangle(body, radius=s * 0.04, fill=p["body"], outline=out, width=ow)
    elif p["shape"] == "pear":
        d.polygon(
            [(cx - s * 0.12, s * 0.42), (cx + s * 0.12, s * 0.42), (cx + s * 0.24, s * 0.85),
             (cx - s * 0.24, s * 0.85)],
            fill=p["body"], outline=out, width=ow,
        )  # fmt: skip
    else:
        d.ellipse(body, fill=p["body"], outline=out, width=ow)
    for n in range(int(p["stripes"])):  # type: ignore[call-overload]
        y = s * (0.6 + 0.06 * n)
        d.line((cx - s * bw * 0.8, y, cx + s * bw * 0.8, y), fill=p["accent"], width=ow * 2)
    for dx, dy in p["spots"]:  # type: ignore[attr-defined]
        r = s * 0.025
        d.ellipse((cx + dx * s - r, dy * s - r, cx + dx * s + r, dy * s + r), fill=out)
    if p["ears"] == "cat":
        for sgn in (-1, 1):
            d.polygon(
                [(cx + sgn * head_r * 0.3, head_cy - head_r * 0.8),
                 (cx + sgn * head_r * 0.9, head_cy - head_r * 1.5),
                 (cx + sgn * head_r * 0.95, head_cy - head_r * 0.3)],
                fill=p["body"], outline=out, width=ow,
            )  # fmt: skip
    elif p["ears"] == "antenna":
        d.line(
            (cx, head_cy - head_r, cx + head_r * 0.4, head_cy - head_r * 1.6), fill=out, width=ow
        )
        r = s * 0.025
        tip = (cx + head_r * 0.4, head_cy - head_r * 1.6)
        d.ellipse((tip[0] - r, tip[1] - r, tip[0] + r, tip[1] + r), fill=p["accent"])
    d.ellipse(
        (cx - head_r, head_cy - head_r, cx + head_r, head_cy + head_r),
        fill=p["body"], outline=out, width=ow,
    )  # fmt: skip
    gap = float(p["eye_gap"]) * s  # type: ignore[arg-type]
    er = head_r * 0.28
    for sgn in (-1, 1):
        ex = cx + sgn * gap
        d.ellipse((ex - er, head_cy - er * 1.2, ex + er, head_cy + er), fill="white", outline=out)
        pr = er * 0.5
        d.ellipse((ex - pr + er * 0.2, head_cy - pr, ex + pr + er * 0.2, head_cy + pr), fill=out)
    mouth = (cx - head_r * 0.45, head_cy + head_r * 0.1, cx + head_r * 0.45, head_cy + head_r * 0.7)
    if p["mouth"] == "smile":
        d.arc(mouth, start=20, end=160, fill=out, width=ow)
    elif p["mouth"] == "open":
        d.chord(mouth, start=0, end=180, fill=(200, 40, 60), outline=out, width=ow)
    else:
        d.line(
            (mouth[0], mouth[3] - head_r * 0.2, mouth[2], mouth[3] - head_r * 0.2),
            fill=out,
            width=ow,
        )
    top = head_cy - head_r
    if p["hat"] == "cap":
        d.chord(
            (cx - head_r, top - head_r * 0.1, cx + head_r, top + head_r * 0.9),
            180,
            360,
            fill=p["accent"],
            outline=out,
            width=ow,
        )
    elif p["hat"] == "bow":
        d.polygon(
            [
                (cx, top + head_r * 0.15),
                (cx - head_r * 0.6, top - head_r * 0.3),
                (cx - head_r * 0.6, top + head_r * 0.5),
            ],
            fill=p["accent"],
            outline=out,
        )
        d.polygon(
            [
                (cx, top + head_r * 0.15),
                (cx + head_r * 0.6, top - head_r * 0.3),
                (cx + head_r * 0.6, top + head_r * 0.5),
            ],
            fill=p["accent"],
            outline=out,
        )
    elif p["hat"] == "crown":
        d.polygon(
            [
                (cx - head_r * 0.6, top + head_r * 0.2),
                (cx - head_r * 0.6, top - head_r * 0.5),
                (cx - head_r * 0.2, top - head_r * 0.1),
                (cx, top - head_r * 0.6),
                (cx + head_r * 0.2, top - head_r * 0.1),
                (cx + head_r * 0.6, top - head_r * 0.5),
                (cx + head_r * 0.6, top + head_r * 0.2),
            ],
            fill=(250, 200, 40),
            outline=out,
            width=ow,
        )
    ey = s * (0.42 + 0.2 * k)
    er2 = s * 0.06
    if p["emblem"] == "star":
        pts = []
        for k in range(10):
            r = er2 if k % 2 == 0 else er2 * 0.45
            a = math.pi / 2 + k * math.pi / 5
            pts.append((cx + r * math.cos(a), ey - r * math.sin(a)))
        d.polygon(pts, fill=p["accent"], outline=out)
    elif p["emblem"] == "circle":
        d.ellipse((cx - er2, ey - er2, cx + er2, ey + er2), fill=p["accent"], outline=out, width=ow)
    elif p["emblem"] == "bolt":
        d.polygon(
            [(cx - er2 * 0.3, ey - er2), (cx + er2 * 0.5, ey - er2 * 0.1), (cx, ey),
             (cx + er2 * 0.3, ey + er2), (cx - er2 * 0.5, ey + er2 * 0.1), (cx, ey)],
            fill=p["accent"], outline=out,
        )  # fmt: skip
    return img.resize((size, size), Image.Resampling.LANCZOS)


def draw_scene(seed: int, size: int = 384) -> Image.Image:
    """A photo-like natural scene: smooth multi-scale noise with a horizon and soft blobs."""
    rng = np.random.default_rng(seed + 1_000_003)
    acc = np.zeros((size, size, 3))
    for octave in (4, 8, 16, 32, 64):
        small = rng.random((octave, octave, 3))
        layer = np.asarray(
            Image.fromarray((small * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC),
            dtype=np.float64,
        )
        acc += layer * (8 / octave)
    acc = acc / acc.max() * 255
    horizon = int(size * rng.uniform(0.3, 0.7))
    sky = np.array(_vivid(random.Random(seed)), dtype=np.float64)
    acc[:horizon] = acc[:horizon] * 0.4 + sky * 0.6
    img = Image.fromarray(np.clip(acc, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    prng = random.Random(seed)
    for _ in range(prng.randint(3, 8)):
        x, y, r = (
            prng.uniform(0, size),
            prng.uniform(0, size),
            prng.uniform(size * 0.03, size * 0.15),
        )
        d.ellipse((x - r, y - r, x + r, y + r), fill=_vivid(prng))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def encode(img: Image.Image, fmt: str = "PNG", quality: int = 90) -> bytes:
    """Image bytes in ``fmt`` (JPEG at ``quality``)."""
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        img.save(out, fmt)
    return out.getvalue()


# Transforms: name → (class, function(img, rng) -> img). Classes match the goals.
Transform = Callable[[Image.Image, random.Random], Image.Image]


def _resize(img: Image.Image, rng: random.Random) -> Image.Image:
    f = rng.choice([0.5, 0.35, 1.6])
    return img.resize((max(8, int(img.width * f)), max(8, int(img.height * f))), Image.BILINEAR)


def _jpeg20(img: Image.Image, rng: random.Random) -> Image.Image:
    return Image.open(io.BytesIO(encode(img, "JPEG", 20))).convert("RGB")


def _crop(keep: float) -> Transform:
    def apply(img: Image.Image, rng: random.Random) -> Image.Image:
        w, h = img.size
        cw, ch = int(w * keep), int(h * keep)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        return img.crop((x, y, x + cw, y + ch))

    return apply


def _rotate(img: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.choice([-8, -5, 5, 8])
    return img.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=(255, 255, 255))


def _overlay_text(img: Image.Image, rng: random.Random) -> Image.Image:
    out = img.copy()
    d = ImageDraw.Draw(out, "RGBA")
    for k in range(3):
        y = int(img.height * (0.1 + 0.35 * k))
        d.text((rng.randint(5, img.width // 3), y), "@artist  #fanart", fill=(255, 255, 255, 200),
               font_size=max(10, img.width // 14))  # fmt: skip
    return out


def _overlay_emoji(img: Image.Image, rng: random.Random) -> Image.Image:
    out = img.copy()
    d = ImageDraw.Draw(out)
    for _ in range(3):
        r = img.width * 0.06
        x, y = rng.uniform(r, img.width - r), rng.uniform(r, img.height - r)
        d.ellipse((x - r, y - r, x + r, y + r), fill=(255, 204, 0), outline=(0, 0, 0))
        d.ellipse((x - r / 2, y - r / 3, x - r / 4, y), fill=(0, 0, 0))
        d.ellipse((x + r / 4, y - r / 3, x + r / 2, y), fill=(0, 0, 0))
    return out


def _caption_bar(img: Image.Image, rng: random.Random) -> Image.Image:
    bar = int(img.height * 0.18)
    out = Image.new("RGB", (img.width, img.height + bar), (0, 0, 0))
    out.paste(img, (0, 0))
    ImageDraw.Draw(out).text((10, img.height + bar // 4), "when the weekend finally arrives",
                             fill=(255, 255, 255), font_size=max(10, bar // 2))  # fmt: skip
    return out


def _pad(img: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.expand(img, border=int(img.width * 0.12), fill=(0, 0, 0))


def _perspective(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    m = 0.06
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(rng.uniform(0, m) * w, rng.uniform(0, m) * h), (w - rng.uniform(0, m) * w, 0),
           (w, h - rng.uniform(0, m) * h), (rng.uniform(0, m) * w, h)]  # fmt: skip
    a = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coeffs = np.linalg.solve(np.array(a), np.array(src).reshape(8))
    return img.transform((w, h), Image.PERSPECTIVE, tuple(coeffs), Image.BICUBIC,
                         fillcolor=(255, 255, 255))  # fmt: skip


def _noise(img: Image.Image, rng: random.Random) -> Image.Image:
    arr = np.asarray(img, dtype=np.float64)
    noisy = arr + np.random.default_rng(rng.randint(0, 2**31)).normal(0, 12, arr.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _hue_rotate(img: Image.Image, rng: random.Random) -> Image.Image:
    hsv = np.asarray(img.convert("HSV")).copy()
    hsv[:, :, 0] = (hsv[:, :, 0].astype(np.int16) + 64) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def _place(img: Image.Image, rng: random.Random) -> Image.Image:
    scene = draw_scene(rng.randint(0, 10**6), 512)
    f = rng.uniform(0.3, 0.6)
    side = int(512 * f)
    small = img.resize((side, side), Image.LANCZOS)
    x, y = rng.randint(0, 512 - side), rng.randint(0, 512 - side)
    scene.paste(small, (x, y))
    return scene


def _sticker(
    d: ImageDraw.ImageDraw, rng: random.Random, box: tuple[float, float, float, float]
) -> None:
    """One opaque sticker: an emoji face, a speech bubble with text, or a star badge."""
    x0, y0, x1, y1 = box
    kind = rng.choice(["emoji", "bubble", "star"])
    colour = _vivid(rng)
    if kind == "emoji":
        d.ellipse(box, fill=(255, 204, 0), outline=(0, 0, 0), width=3)
        w, h = x1 - x0, y1 - y0
        d.ellipse((x0 + w * 0.28, y0 + h * 0.3, x0 + w * 0.4, y0 + h * 0.45), fill=(0, 0, 0))
        d.ellipse((x0 + w * 0.6, y0 + h * 0.3, x0 + w * 0.72, y0 + h * 0.45), fill=(0, 0, 0))
        d.arc((x0 + w * 0.25, y0 + h * 0.4, x0 + w * 0.75, y0 + h * 0.8), 20, 160,
              fill=(0, 0, 0), width=4)  # fmt: skip
    elif kind == "bubble":
        d.rounded_rectangle(box, radius=(x1 - x0) * 0.2, fill=colour, outline=(0, 0, 0), width=3)
        d.text((x0 + (x1 - x0) * 0.12, y0 + (y1 - y0) * 0.3), rng.choice(["LOL", "OMG", "wow"]),
               fill=(255, 255, 255), font_size=max(8, int((y1 - y0) * 0.35)))  # fmt: skip
    else:
        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else r * 0.5
            a = math.pi / 2 + k * math.pi / 5
            pts.append((cx + rr * math.cos(a), cy - rr * math.sin(a)))
        d.polygon(pts, fill=colour, outline=(0, 0, 0))


def _stickers(img: Image.Image, rng: random.Random) -> Image.Image:
    """Opaque stickers added until they cover a fifth to a third of the image (drawn target)."""
    out = img.copy()
    d = ImageDraw.Draw(out)
    w, h = img.size
    target = rng.uniform(0.2, 0.33)
    original = np.asarray(img, dtype=np.int16)
    for _ in range(8):
        changed = np.abs(np.asarray(out, dtype=np.int16) - original).sum(axis=2) > 24
        missing = target - float(changed.mean())
        if missing <= 0.01:
            break
        # emoji and stars fill about 60 % of their box
        side = min(w * 0.5, math.sqrt(max(missing, 0.04) * w * h / 0.6) * rng.uniform(0.6, 0.9))
        x, y = rng.uniform(0, w - side), rng.uniform(0, h - side)
        _sticker(d, rng, (x, y, x + side, y + side))
    return out


def draw_busy_scene(seed: int, size: int = 512) -> Image.Image:
    """A cluttered scene: the photo-like backdrop plus many opaque shapes, strokes and text."""
    img = draw_scene(seed, size)
    d = ImageDraw.Draw(img)
    rng = random.Random(seed * 31 + 7)
    for _ in range(rng.randint(25, 45)):
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        r = rng.uniform(size * 0.02, size * 0.09)
        kind = rng.random()
        if kind < 0.4:
            d.rectangle((x - r, y - r * 0.6, x + r, y + r * 0.6), fill=_vivid(rng),
                        outline=(30, 30, 40), width=2)  # fmt: skip
        elif kind < 0.7:
            d.ellipse((x - r, y - r, x + r, y + r), fill=_vivid(rng), outline=(30, 30, 40))
        elif kind < 0.9:
            d.line((x, y, x + rng.uniform(-3, 3) * r, y + rng.uniform(-3, 3) * r),
                   fill=(30, 30, 40), width=rng.randint(2, 6))  # fmt: skip
        else:
            d.text((x, y), rng.choice(["SALE", "new!", "#art", "2026"]), fill=_vivid(rng),
                   font_size=int(r))  # fmt: skip
    return img


def _place_busy(img: Image.Image, rng: random.Random) -> Image.Image:
    """The character pasted at 40-50 % of a busy 512-pixel scene's side."""
    scene = draw_busy_scene(rng.randint(0, 10**6), 512)
    side = int(512 * rng.uniform(0.4, 0.5))
    small = img.resize((side, side), Image.LANCZOS)
    x, y = rng.randint(0, 512 - side), rng.randint(0, 512 - side)
    scene.paste(small, (x, y))
    return scene


def _perspective_strong(img: Image.Image, rng: random.Random) -> Image.Image:
    """A strong keystone: each corner moved inwards by 8-18 % of the side."""
    w, h = img.size
    m = [rng.uniform(0.08, 0.18) for _ in range(8)]
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(m[0] * w, m[1] * h), (w - m[2] * w, m[3] * h), (w - m[4] * w, h - m[5] * h),
           (m[6] * w, h - m[7] * h)]  # fmt: skip
    a = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coeffs = np.linalg.solve(np.array(a), np.array(src).reshape(8))
    return img.transform((w, h), Image.PERSPECTIVE, tuple(coeffs), Image.BICUBIC,
                         fillcolor=(255, 255, 255))  # fmt: skip


TRANSFORMS: dict[str, tuple[str, Transform]] = {
    "identity": ("photometric", lambda i, r: i),
    "resize": ("resize", _resize),
    "jpeg q20": ("compression", _jpeg20),
    "brightness +30 %": ("photometric", lambda i, r: ImageEnhance.Brightness(i).enhance(1.3)),
    "saturation x0.4": ("photometric", lambda i, r: ImageEnhance.Color(i).enhance(0.4)),
    "greyscale": ("photometric", lambda i, r: ImageOps.grayscale(i).convert("RGB")),
    "blur": ("photometric", lambda i, r: i.filter(ImageFilter.GaussianBlur(2))),
    "noise": ("photometric", _noise),
    "mirror": ("mirror", lambda i, r: ImageOps.mirror(i)),
    "text overlay": ("overlay", _overlay_text),
    "emoji overlay": ("overlay", _overlay_emoji),
    "caption bar": ("overlay", _caption_bar),
    "padding": ("overlay", _pad),
    "crop 80 %": ("crop", _crop(0.8)),
    "crop 60 %": ("crop", _crop(0.6)),
    "rotate ±8°": ("rotation", _rotate),
    "perspective": ("perspective", _perspective),
    "placed 30-60 % in a scene": ("placement", _place),
    "stickers over 1/5-1/3": ("partial", _stickers),
    "placed 40-50 % in a busy scene": ("partial", _place_busy),
    "perspective 8-18 %": ("partial", _perspective_strong),
    "hue rotated 90°": ("recolour", _hue_rotate),
}
"""Every positive transform of the benchmark with its goal class."""

EASY_CLASSES = ("photometric", "resize", "compression", "mirror", "overlay")
"""Transform classes whose recall goal is 0.97."""
HARD_CLASSES = ("crop", "rotation", "perspective", "placement")
"""Transform classes whose recall goal is 0.85 ("recolour" has none: it is sent to review)."""
PARTIAL_CLASSES = ("partial",)
"""Partial reuse (stickers over a fifth to a third, 40-50 % placement in a busy scene, strong
perspective): recall goal 0.9 for each transform."""

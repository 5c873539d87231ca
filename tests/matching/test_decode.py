"""Bad and unusual image inputs: each decodes to RGB or raises an error naming the file."""

from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from matching import DecompressionBombError, ImageDecodeError, decode_image, hash_image


def _png(img: Image.Image, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", **kw)
    return out.getvalue()


def _split_image() -> Image.Image:
    """Left half red, right half blue: orientation is visible in the pixels."""
    img = Image.new("RGB", (80, 40), (255, 0, 0))
    img.paste((0, 0, 255), (40, 0, 80, 40))
    return img


def test_truncated_png_names_the_file() -> None:
    data = _png(_split_image())
    with pytest.raises(ImageDecodeError, match=re.escape("cut.png")):
        decode_image(data[: len(data) // 2], label="cut.png")


def test_corrupt_bytes_name_the_file() -> None:
    with pytest.raises(ImageDecodeError, match=re.escape("noise.jpg: cannot decode")):
        decode_image(b"\xff\xd8\xff" + bytes(range(256)) * 4, label="noise.jpg")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    data = bytearray(_png(Image.new("L", (8, 8))))
    # Rewrite the IHDR size to 100,000 x 100,000 and fix its CRC: a tiny file declaring 10 Gpx.
    ihdr = struct.pack(">II", 100_000, 100_000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    with pytest.raises(DecompressionBombError, match=re.escape("bomb.png")) as info:
        decode_image(bytes(data), label="bomb.png")
    assert info.value.limit > 0


def test_pixel_cap_is_configurable() -> None:
    with pytest.raises(DecompressionBombError, match="1,600 pixels"):
        decode_image(_png(Image.new("RGB", (40, 40))), label="x.png", max_pixels=1000)


def test_one_pixel_image_decodes_and_hashes_as_featureless() -> None:
    decoded = decode_image(_png(Image.new("RGB", (1, 1), "red")), label="dot.png")
    assert decoded.rgb.shape == (1, 1, 3)
    assert hash_image(decoded.rgb).pdq_quality < 50


def test_cmyk_jpeg_becomes_rgb() -> None:
    out = io.BytesIO()
    _split_image().convert("CMYK").save(out, "JPEG", quality=95)
    rgb = decode_image(out.getvalue(), label="cmyk.jpg").rgb
    assert rgb.shape == (40, 80, 3)
    assert rgb[20, 10, 0] > 200 and rgb[20, 70, 2] > 200


def test_sixteen_bit_png_keeps_its_range() -> None:
    values = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (16, 1))
    data = _png(Image.fromarray(values))
    rgb = decode_image(data, label="deep.png").rgb
    assert rgb.dtype == np.uint8
    assert rgb[0, 0, 0] < 5 and rgb[0, -1, 0] > 250 and 100 < rgb[0, 32, 0] < 160


def test_palette_with_transparency_is_composited_on_white() -> None:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (10, 0, 20, 20))
    rgb = decode_image(_png(img, transparency=0), label="pal.png").rgb
    assert rgb[5, 5].tolist() == [255, 255, 255]
    assert rgb[5, 15].tolist() == [255, 0, 0]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_use_the_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgb = decode_image(out.getvalue(), label=f"anim.{fmt.lower()}").rgb
    assert rgb[16, 16, 0] > 200 and rgb[16, 16, 2] < 60


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 3  # rotated 180°: the stored left (red) is shown on the right
    out = io.BytesIO()
    _split_image().save(out, "JPEG", quality=95, exif=exif)
    rgb = decode_image(out.getvalue(), label="turned.jpg").rgb
    assert rgb[20, 70, 0] > 200 and rgb[20, 10, 2] > 200


def test_large_jpeg_is_drafted_to_the_working_frame() -> None:
    out = io.BytesIO()
    Image.new("RGB", (2048, 1024), "green").save(out, "JPEG")
    decoded = decode_image(out.getvalue(), label="big.jpg")
    assert decoded.source_size == (2048, 1024)
    assert max(decoded.rgb.shape[:2]) == 512


def test_decode_memory_budget_refuses_before_decoding_and_counts_the_jpeg_draft() -> None:
    big = Image.new("RGB", (2048, 2048), (200, 30, 30))
    budget = 4 * 2**20  # 4 MiB: a 2048x2048 frame needs 16 MiB, its 1/4 JPEG draft 1 MiB
    with pytest.raises(DecompressionBombError, match=r"big.png: .* needs 16 MiB to decode"):
        decode_image(_png(big), label="big.png", max_decode_bytes=budget)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=80)
    decoded = decode_image(out.getvalue(), label="big.jpg", max_decode_bytes=budget)
    assert decoded.source_size == (2048, 2048) and decoded.rgb.shape == (512, 512, 3)


def test_large_png_is_reduced_before_conversion_and_matches_a_plain_resize() -> None:
    img = Image.new("RGBA", (1600, 1200), (0, 0, 255, 128))
    decoded = decode_image(_png(img), label="big.png")
    assert decoded.rgb.shape == (384, 512, 3)
    # half-transparent blue on white
    assert np.abs(decoded.rgb[100, 100].astype(int) - [127, 127, 255]).max() <= 2

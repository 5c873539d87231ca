"""Content: deterministic characters, derivations, LoRA files and worlds."""

from __future__ import annotations

import io
import json
import random
import struct

import numpy as np
from PIL import Image

from sandbox.content import (
    CHARACTERS,
    DERIVATIONS,
    IMAGE_HOWS,
    POSES,
    ImageRecipe,
    character,
    draw_character,
    draw_lookalike,
    encode_image,
    image_size,
    reference_images,
    render_image,
)
from sandbox.errors import ContentError
from sandbox.lora import FAULTY_HEADER_LENGTH, LoraSpec, build_lora, file_hashes
from sandbox.naming import misspell
from sandbox.world import Kind, Platform, build_world

SPEC = LoraSpec(7, "kobaltron_v1", "Kobaltron", "kobaltron", "10_kobaltron", ("solo", "robot"))


def test_three_characters_with_aliases_in_five_scripts() -> None:
    assert [c.name for c in CHARACTERS] == ["Kobaltron", "Pipera", "Tidebell"]
    for who in CHARACTERS:
        assert set(who.aliases) == {"en", "zh", "pinyin", "ja", "hepburn"}
        assert all(who.aliases[language] for language in who.aliases)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in who.aliases["zh"][0])
        assert all("\u30a0" <= ch <= "\u30ff" for ch in who.aliases["ja"][0])
        assert who.all_aliases()[0] == who.name
    assert character("TIDEBELL") is character("tidebell")


def test_unknown_names_are_refused_with_the_name() -> None:
    for call in (lambda: character("Nobody"), lambda: draw_character("Pipera", pose="sit")):
        try:
            call()
        except ContentError as exc:
            assert "Nobody" in str(exc) or "sit" in str(exc)
        else:
            raise AssertionError("no ContentError")


def test_silhouettes_differ_between_characters() -> None:
    masks = [np.asarray(draw_character(c.name, size=128).getchannel("A")) > 128 for c in CHARACTERS]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            overlap = (masks[i] & masks[j]).sum() / (masks[i] | masks[j]).sum()
            assert overlap < 0.8


def test_lookalike_shares_the_palette_not_the_shape() -> None:
    real = draw_character("Kobaltron", size=128)
    fake = draw_lookalike("Kobaltron", size=128, rng=random.Random(1))
    real_mask = np.asarray(real.getchannel("A")) > 128
    fake_mask = np.asarray(fake.getchannel("A")) > 128
    assert (real_mask & fake_mask).sum() / (real_mask | fake_mask).sum() < 0.6
    # the two silhouettes differ far more than two poses of the same character do
    posed = np.asarray(draw_character("Kobaltron", pose="wave", size=128).getchannel("A")) > 128
    assert (real_mask & posed).sum() / (real_mask | posed).sum() > 0.75
    blue = CHARACTERS[0].palette[0]
    fake_rgb = np.asarray(fake.convert("RGB"))[fake_mask]
    assert (np.abs(fake_rgb - np.array(blue)).sum(axis=1) < 30).mean() > 0.3


def test_same_seed_same_pixels_other_seed_other_pixels() -> None:
    first = [r.image.tobytes() for r in reference_images(3)]
    again = [r.image.tobytes() for r in reference_images(3)]
    other = [r.image.tobytes() for r in reference_images(4)]
    assert first == again
    assert first != other
    assert len(first) == 15
    for pose in POSES:
        a = draw_character("Pipera", pose=pose, size=96, rng=random.Random(5))
        b = draw_character("Pipera", pose=pose, size=96, rng=random.Random(5))
        assert a.tobytes() == b.tobytes()


def test_every_recipe_renders_at_its_announced_size() -> None:
    rng = random.Random(2)
    for n, how in enumerate(IMAGE_HOWS):
        who = ("Pipera", "Tidebell") if how == "pair" else ("Kobaltron",)
        if how in ("lookalike", "unrelated"):
            who = ()
        recipe = ImageRecipe(rng.randint(0, 10**6), how, who, "Pipera", n % 5)
        image = render_image(recipe, 11)
        assert image.mode == "RGB"
        assert image.size == image_size(recipe, 11), how
    assert set(DERIVATIONS) <= set(IMAGE_HOWS)


def test_encoded_images_carry_generation_parameters() -> None:
    image = render_image(ImageRecipe(1, "unrelated"), 1)
    for fmt in ("png", "jpeg"):
        data = encode_image(image, fmt, "a prompt <lora:kobaltron_v1:0.8>")
        with Image.open(io.BytesIO(data)) as decoded:
            text = decoded.info.get("parameters") or decoded.info["comment"].decode()
        assert "<lora:kobaltron_v1:0.8>" in text


def _header(data: bytes) -> dict[str, object]:
    (length,) = struct.unpack("<Q", data[:8])
    header: dict[str, object] = json.loads(data[8 : 8 + length])
    return header


def test_lora_file_is_real_safetensors_with_kohya_metadata() -> None:
    data = build_lora(SPEC)
    header = _header(data)
    meta = header.pop("__metadata__")
    assert isinstance(meta, dict)
    assert all(isinstance(v, str) for v in meta.values())
    assert meta["ss_output_name"] == "kobaltron_v1"
    assert meta["modelspec.trigger_phrase"] == "kobaltron"
    assert "kobaltron" in json.loads(meta["ss_tag_frequency"])["10_kobaltron"]
    assert json.loads(meta["ss_dataset_dirs"])["10_kobaltron"]["n_repeats"] > 0
    length = struct.unpack("<Q", data[:8])[0]
    body = data[8 + length :]
    end = 0
    for entry in header.values():
        assert isinstance(entry, dict)
        begin, stop = entry["data_offsets"]
        count = int(np.prod(entry["shape"])) if entry["shape"] else 1
        assert stop - begin == count * 2
        end = max(end, stop)
    assert end == len(body)
    assert build_lora(SPEC) == data


def test_hashes_follow_civitai_definitions() -> None:
    data = build_lora(SPEC)
    hashes = file_hashes(data).as_civitai()
    assert hashes["SHA256"] == hashes["SHA256"].upper()
    assert hashes["AutoV2"] == hashes["SHA256"][:10]
    assert len(hashes["CRC32"]) == 8
    assert "AutoV1" not in hashes  # files under 2 MiB have none


def test_faulty_lora_headers() -> None:
    huge = build_lora(SPEC, "st-huge-header")
    assert struct.unpack("<Q", huge[:8])[0] == FAULTY_HEADER_LENGTH == 2**63
    broken = build_lora(SPEC, "st-bad-json")
    (length,) = struct.unpack("<Q", broken[:8])
    try:
        json.loads(broken[8 : 8 + length])
    except ValueError:
        pass
    else:
        raise AssertionError("broken header parsed")


def test_misspellings_keep_the_letters() -> None:
    rng = random.Random(0)
    for _ in range(20):
        spelled = misspell("Tidebell", rng)
        squeezed = "".join(ch for ch in spelled.lower() if ch.isalnum())
        assert squeezed.replace("0", "o").replace("1", "i").replace("3", "e") == "tidebell"
        assert spelled != "Tidebell"


def test_world_is_deterministic_and_covers_every_kind() -> None:
    world = build_world(5, 400)
    again = build_world(5, 400)
    assert world.truth("http://x") == again.truth("http://x")
    rows = world.truth("http://x")
    assert len(rows) == 400
    kinds = {(r["platform"], r["kind"]) for r in rows}
    assert kinds == {
        ("civitai", "model"),
        ("civitai", "image"),
        ("huggingface", "model"),
        ("gallery", "model"),
        ("gallery", "image"),
    }
    hows = {r["how"] for r in rows}
    assert {"name:zh", "name:ja", "name:misspelling", "tag:zh", "trigger:ja", "innocent"} <= hows
    assert set(IMAGE_HOWS) <= hows
    ids = [(r["kind"], r["external_id"]) for r in rows]
    assert len(ids) == len(set(ids))


def test_large_world_keeps_only_records() -> None:
    world = build_world(1, 20_000)
    assert len(world.models) + len(world.pictures) == 20_000
    assert len(world.models_on(Platform.CIVITAI)) == 2000
    item = world.remove(Kind.IMAGE, world.pictures[-1].external_id)
    assert world.is_removed(item)
